"""Who may publish to the alerts topic (and so make reflex act): the topic policy of
infra/template.yaml, evaluated request by request.

moto, the test stack's AWS, does not enforce SNS topic policies, so the policy document
itself is tested here: its statements are read from the template (intrinsic functions
resolved for a sample account, region and prefix), and each request below is evaluated the
way IAM evaluates a resource policy together with the caller's identity policy: an explicit
Deny wins; otherwise the request is allowed by a matching Allow of the topic policy, or, for
an IAM principal of the topic's own account, by its identity policy. Every request names
the statement that must decide it, so each statement is checked on its own and a statement
that no longer decides what it was written for fails the check.

Usage: python topic_policy_check.py TEMPLATE        (exit 0 when every case holds)
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field

from samtranslator.yaml_helper import yaml_parse

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
PARTITION = "aws"
TOPIC = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:reflex-alerts"
INTAKE_ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/reflex-IntakeRole-1A2B3C"
OTHER_ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/ci-deployer"


def resolve(value, params: dict[str, str]):
    """Resolves Ref, Fn::Sub and Fn::GetAtt with `params`; other values as they are."""
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return params[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        name = ".".join(target) if isinstance(target, list) else target
        return params[name]
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        return re.sub(r"\$\{([^}]+)\}", lambda m: params[m.group(1)], text)
    return {k: resolve(v, params) for k, v in value.items()}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class Request:
    """One sns:Publish to the topic."""

    name: str
    # "AWS" (an IAM principal or anonymous) or "Service".
    kind: str
    # The principal's ARN, service name, or "anonymous".
    principal: str
    context: dict[str, str] = field(default_factory=dict)
    # The caller's identity policy allows sns:Publish on the topic (same account only).
    identity_allows: bool = False


def principal_matches(spec, request: Request) -> bool:
    if spec == "*":
        return True
    for kind, values in spec.items():
        for value in as_list(values):
            if kind != request.kind:
                continue
            if value == "*" or value == request.principal:
                return True
    return False


def condition_holds(operator: str, key: str, wanted, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    negated = "Not" in base
    if key not in context:
        # Missing key: ...IfExists holds; a negated operator holds; a positive one fails.
        return if_exists or negated
    actual = context[key]
    wanted = [str(w) for w in as_list(wanted)]
    if base in ("StringEquals", "StringNotEquals"):
        match = actual in wanted
    elif base in ("ArnLike", "ArnNotLike"):
        match = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
    elif base == "Bool":
        match = actual.lower() in [w.lower() for w in wanted]
    else:
        raise ValueError(f"operator {operator} is not modelled by this check")
    return not match if negated else match


def statement_matches(statement: dict, request: Request) -> bool:
    if "sns:Publish" not in as_list(statement["Action"]):
        return False
    if TOPIC not in as_list(statement["Resource"]):
        return False
    if not principal_matches(statement["Principal"], request):
        return False
    for operator, pairs in statement.get("Condition", {}).items():
        for key, wanted in pairs.items():
            if not condition_holds(operator, key, wanted, request.context):
                return False
    return True


def decide(statements: list[dict], request: Request) -> tuple[str, str]:
    """("allow" | "deny", deciding statement Sid or "identity policy" / "no allow")."""
    for s in statements:
        if s["Effect"] == "Deny" and statement_matches(s, request):
            return "deny", s["Sid"]
    for s in statements:
        if s["Effect"] == "Allow" and statement_matches(s, request):
            return "allow", s["Sid"]
    same_account = request.kind == "AWS" and f":{ACCOUNT}:" in request.principal
    if same_account and request.identity_allows:
        return "allow", "identity policy"
    return "deny", "no allow"


def iam(principal: str, **context: str) -> dict[str, str]:
    base = {
        "aws:PrincipalArn": principal,
        "aws:PrincipalIsAWSService": "false",
        "aws:SecureTransport": "true",
    }
    base.update(context)
    return base


def service(name: str, alarm: str | None = None, account: str = ACCOUNT) -> dict[str, str]:
    context = {
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": name,
        "aws:SecureTransport": "true",
        "aws:SourceAccount": account,
    }
    if alarm is not None:
        context["aws:SourceArn"] = f"arn:{PARTITION}:cloudwatch:{REGION}:{account}:alarm:{alarm}"
    return context


def cases(prefix: str) -> list[tuple[Request, str, str]]:
    """(request, expected outcome, the statement that must decide it)."""
    cw = "cloudwatch.amazonaws.com"
    alarm = f"{prefix}voting-prod-node-not-ready"
    return [
        (Request("a_publish_from_the_intake_role_is_allowed", "AWS", INTAKE_ROLE,
                 iam(INTAKE_ROLE), identity_allows=True),
         "allow", "IntakePublish"),
        (Request("a_publish_from_an_unlisted_role_is_refused", "AWS", OTHER_ROLE,
                 iam(OTHER_ROLE), identity_allows=True),
         "deny", "DenyPublishByOtherPrincipals"),
        (Request("a_publish_from_another_account_is_refused", "AWS",
                 f"arn:{PARTITION}:iam::{OTHER_ACCOUNT}:role/admin",
                 iam(f"arn:{PARTITION}:iam::{OTHER_ACCOUNT}:role/admin"), identity_allows=True),
         "deny", "DenyPublishByOtherPrincipals"),
        (Request("an_anonymous_publish_is_refused", "AWS", "anonymous",
                 {"aws:SecureTransport": "true"}),
         "deny", "DenyPublishByOtherPrincipals"),
        (Request("the_intake_role_over_plain_http_is_refused", "AWS", INTAKE_ROLE,
                 iam(INTAKE_ROLE, **{"aws:SecureTransport": "false"}), identity_allows=True),
         "deny", "DenyInsecureTransport"),
        (Request("an_alarm_of_this_account_publishes", "Service", cw, service(cw, alarm)),
         "allow", "CloudWatchAlarmsPublish"),
        (Request("an_alarm_of_another_account_is_refused", "Service", cw,
                 service(cw, alarm, account=OTHER_ACCOUNT)),
         "deny", "DenyAlarmsOfOtherAccountsOrNames"),
        (Request("cloudwatch_without_a_source_alarm_is_refused", "Service", cw, service(cw)),
         "deny", "DenyAlarmsOfOtherAccountsOrNames"),
        (Request("another_service_is_refused", "Service", "events.amazonaws.com",
                 service("events.amazonaws.com")),
         "deny", "DenyPublishByOtherServices"),
    ] + ([
        (Request("an_alarm_outside_the_name_prefix_is_refused", "Service", cw,
                 service(cw, "payments-db-cpu")),
         "deny", "DenyAlarmsOfOtherAccountsOrNames"),
    ] if prefix else [])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    policy = template["Resources"]["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]
    failures = 0
    for prefix in ("", "voting-prod-"):
        params = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AlarmNamePrefix": prefix,
            "AlertsTopic": TOPIC,
            "IntakeRole.Arn": INTAKE_ROLE,
        }
        statements = resolve(policy["Statement"], params)
        deciding = set()
        for request, want, want_by in cases(prefix):
            got, by = decide(statements, request)
            deciding.add(by)
            ok = (got, by) == (want, want_by)
            failures += not ok
            mark = "ok  " if ok else "FAIL"
            print(f"{mark} prefix={prefix!r:15} {request.name}: {got} by {by}"
                  + ("" if ok else f" (expected {want} by {want_by})"))
        for s in statements:
            if s["Sid"] not in deciding:
                failures += 1
                print(f"FAIL prefix={prefix!r:15} statement {s['Sid']} decides no case")
    print(f"topic policy: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
