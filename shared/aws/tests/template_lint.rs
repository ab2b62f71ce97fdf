//! `template.yaml` passes `cfn-lint` and `sam validate --lint` with zero findings (offline, no
//! credentials), and keeps the invariants the linters do not check (they miss a FIFO batch size over
//! 10 or a wrong runtime) and the contract with the functions' code (environment variable names, the
//! names `register_connector` derives from a stack name).
//!
//! The tools come from `.venv` (infra/requirements.txt) or `WOOSELLSY_CFN_LINT` / `WOOSELLSY_SAM`;
//! missing tools skip loudly unless `WOOSELLSY_REQUIRE_TOOLS=1`.

use woosellsy_aws::testkit as common;

use std::path::PathBuf;
use std::process::Command;

use woosellsy_aws::env::names;

fn template_path() -> PathBuf {
    common::workspace_root().join("template.yaml")
}

fn template() -> String {
    std::fs::read_to_string(template_path()).expect("template.yaml at the workspace root")
}

fn offline(cmd: &mut Command) -> &mut Command {
    // No credentials, no telemetry, no profile: the lint must not depend on an AWS account.
    cmd.current_dir(common::workspace_root())
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
}

#[test]
fn cfn_lint_reports_nothing() {
    let Some(bin) = common::venv_tool("cfn-lint", "WOOSELLSY_CFN_LINT", "WOOSELLSY_REQUIRE_TOOLS")
    else {
        return;
    };
    let out = offline(&mut Command::new(bin))
        .args(["--regions", "eu-west-3", "--", "template.yaml"])
        .output()
        .expect("run cfn-lint");
    let findings =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "cfn-lint findings:\n{findings}"
    );
}

#[test]
fn sam_validate_lint_reports_nothing() {
    let Some(bin) = common::venv_tool("sam", "WOOSELLSY_SAM", "WOOSELLSY_REQUIRE_TOOLS") else {
        return;
    };
    let out = offline(&mut Command::new(bin))
        .args([
            "validate",
            "--lint",
            "--region",
            "eu-west-3",
            "--template-file",
            "template.yaml",
        ])
        .output()
        .expect("run sam validate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sam validate --lint failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("is a valid SAM Template"),
        "unexpected output:\n{stdout}\n{stderr}"
    );
    let findings: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.trim().is_empty() && !l.contains("is a valid SAM Template"))
        .collect();
    assert!(
        findings.is_empty(),
        "sam validate --lint findings:\n{}",
        findings.join("\n")
    );
}

/// The values following `key:` in the template, trimmed.
fn values_of<'a>(template: &'a str, key: &str) -> Vec<&'a str> {
    template
        .lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|rest| rest.strip_prefix(':'))
        .map(str::trim)
        .collect()
}

#[test]
fn invariants_the_linters_do_not_check() {
    let t = template();
    assert_eq!(values_of(&t, "Runtime"), ["provided.al2023"]);
    assert_eq!(values_of(&t, "Architectures"), ["[arm64]"]);
    assert_eq!(
        values_of(&t, "BuildMethod"),
        ["rust-cargolambda", "rust-cargolambda"]
    );
    let mut binaries = values_of(&t, "Binary");
    binaries.sort();
    assert_eq!(
        binaries,
        ["converter", "webhook-receiver"],
        "Binary must name the functions' cargo bins"
    );
    for size in values_of(&t, "BatchSize") {
        let n: u32 = size.parse().expect("a literal batch size");
        assert!(
            (1..=10).contains(&n),
            "an SQS FIFO event source takes at most 10 records, got {n}"
        );
    }
    assert!(values_of(&t, "FunctionResponseTypes").contains(&"[ReportBatchItemFailures]"));
    assert_eq!(
        values_of(&t, "FifoQueue"),
        ["true", "true"],
        "the queue and its DLQ are both FIFO"
    );
    assert_eq!(values_of(&t, "ContentBasedDeduplication"), ["false"]);
    assert_eq!(
        values_of(&t, "MaximumMessageSize"),
        [woosellsy_aws::sqs::SQS_MAX_BODY_BYTES.to_string()]
    );
    assert!(values_of(&t, "Path").contains(&"/webhooks/{connectorId}"));
    assert!(t.contains(woosellsy_aws::http_api::CONNECTOR_PATH_PARAMETER));
    assert_eq!(
        values_of(&t, "AttributeName").last(),
        Some(&woosellsy_aws::dynamo::TTL_ATTRIBUTE)
    );
    // No function gets AWS's broad managed policies: each role lists its own actions.
    assert!(!t.contains("ManagedPolicyArns") && !t.contains("AWSLambdaBasicExecutionRole"));
    assert_eq!(
        values_of(&t, "- PolicyName").len(),
        2,
        "one IAM policy per function"
    );
    for resource in values_of(&t, "Resource") {
        assert_ne!(resource, "\"*\"", "no wildcard resources");
        assert_ne!(resource, "'*'", "no wildcard resources");
        assert_ne!(resource, "*", "no wildcard resources");
    }
}

#[test]
fn the_functions_environment_matches_the_code() {
    let t = template();
    for name in [
        names::TABLE_NAME,
        names::QUEUE_URL,
        names::SECRET_PREFIX,
        names::WEBHOOK_SECRET_PREFIX,
        names::SELLSY_MAX_RPS,
        names::MAX_RECEIVES,
    ] {
        assert!(
            t.contains(&format!("{name}:")),
            "template.yaml does not set {name}"
        );
    }
}

/// The lines of the resource `name` (from `  name:` to the next resource).
fn resource<'a>(template: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| *l != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("resource {name} in template.yaml"));
    std::iter::once(first)
        .chain(lines.take_while(|l| {
            let indent = l.len() - l.trim_start().len();
            l.trim().is_empty() || l.trim_start().starts_with('#') || indent > 2
        }))
        .collect()
}

/// The policy statements of a role, one string each (from `- Sid:` to the next).
fn statements(role: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in role {
        if line.trim_start().starts_with("- Sid:") {
            out.push(String::new());
        }
        if let Some(current) = out.last_mut()
            && !line.trim_start().starts_with('#')
        {
            current.push_str(line.trim());
            current.push('\n');
        }
    }
    out
}

#[test]
fn the_receiver_reads_only_webhook_secrets_and_connector_items() {
    let t = template();
    let role = resource(&t, "ReceiverRole");
    let statements = statements(&role);
    let secrets: Vec<&String> = statements
        .iter()
        .filter(|s| s.contains("secretsmanager:"))
        .collect();
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    assert!(
        secrets[0].contains("Action: secretsmanager:GetSecretValue\n")
            && secrets[0].contains(":secret:woosellsy/${AWS::StackName}/webhooks/*\""),
        "the receiver may read the webhook secrets only: {}",
        secrets[0]
    );
    assert!(
        !role.iter().any(|l| l.contains("/connectors/")),
        "the receiver must not read the connectors' key bundles"
    );

    let dynamo: Vec<&String> = statements
        .iter()
        .filter(|s| s.contains("dynamodb:"))
        .collect();
    assert_eq!(dynamo.len(), 1, "{dynamo:#?}");
    // The connector items' partition key (the key design in dynamo.rs and the README): nothing else.
    assert!(
        dynamo[0].contains("Action: dynamodb:GetItem\n")
            && dynamo[0].contains(
                "Condition:\nForAllValues:StringEquals:\ndynamodb:LeadingKeys: [CONNECTORS]\n"
            ),
        "the receiver's GetItem must be limited to the connector items: {}",
        dynamo[0]
    );

    let function = resource(&t, "WebhookReceiverFunction").join("\n");
    assert!(
        function.contains(&format!(
            "{}: !Sub \"woosellsy/${{AWS::StackName}}/webhooks/\"",
            names::WEBHOOK_SECRET_PREFIX
        )),
        "the receiver is told where the webhook secrets are"
    );
    // The converter keeps the key bundles.
    let converter = resource(&t, "ConverterRole").join("\n");
    assert!(converter.contains(":secret:woosellsy/${AWS::StackName}/connectors/*\""));
}
