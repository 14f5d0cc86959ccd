"""Creates the stack's AWS resources in a moto server from infra/template.yaml.

Usage (scripts/local-stack runs it with the moto venv's Python, which has boto3 and PyYAML):
    setup.py --endpoint URL --api-url URL --out DIR [--template T] [--cargo-toml C]
             [--front-door HOST:PORT] [--video-source-default SOURCE]
    with TIKTOK_API_BASE_URL, TIKTOK_AUTH_BASE_URL, TIKTOK_CLIENT_KEY, TIKTOK_CLIENT_SECRET set.

Nothing is restated here: the tables, the bucket, the secret, the queues, the state machine
(its DefinitionUri with DefinitionSubstitutions filled in) and the functions' environment
all come from the template, with CloudFormation's intrinsics (!Ref, !GetAtt, !Sub, !If,
!Equals) resolved to local names. A resource type or property this file does not know makes
it fail, so a template change cannot be silently left out of local runs.

Local stand-ins:
- Functions are not created in moto: `cargo lambda watch` serves them by their binary name
  (Metadata.BuildProperties.Binary); `!GetAtt Fn.Arn` is arn:aws:lambda:...:function:<binary>.
  stack.json gives each its MemorySize and Timeout (the entry script starts the binaries).
- An EventBridgeRule event of a function becomes the same rule with an SQS queue as its
  target (moto cannot invoke Lambda, and a Step Functions target breaks moto's delivery);
  the driver hands each message to the function. The queue redrives to the function's
  DeadLetterQueue after 1 + EventInvokeConfig.MaximumRetryAttempts receives, as Lambda's
  asynchronous retries would.
- The HTTP API is `cargo lambda watch` (its router table in Cargo.toml); its routes are
  compared with the template's here.
- Each function's role is an IAM user in moto whose inline policies are the function's
  `Policies` statements (resolved; see local_policy for what moto can and cannot check), with
  access keys the function runs with (stack.json's function_credentials). When everything
  is created, moto's IAM enforcement is switched on (/moto-api/reset-auth): from then on a
  call a function's template policies do not allow fails with AccessDenied, as in AWS.
  Everything else (this file, the driver, tests, the CLI) signs with the key `test`, which
  the entry script's moto launcher treats as the account's root (everything allowed).
- The front door (with --front-door: the template's DomainName, HasFrontDoor true): moto
  cannot make CloudFront resources, so the local media origin (media-origin.mjs, started by
  the entry script) stands in for the distribution and its function. DomainName carries the
  origin's port (the deployed name has none: 443), so every use of it (FRONT_DOOR_HOST, the
  MediaUrlPrefix output) names the local origin. MediaSigningKey is generated in moto as
  GenerateSecretString asks, and what the template hands the function (the key through its
  dynamic reference, the verification file) goes to DIR/media-origin.json for the origin.
  The public routes (PUBLIC_BASE_URL, TIKTOK_REDIRECT_URI, the RedirectUri and WebhookUrl
  outputs) stay on the local API, as without a domain: the local clients (smoke, demo, the
  suites, Chromium) reach the API over plain http on 127.0.0.1 and cannot resolve the test
  hostname; the origin forwards /oauth/* and /webhooks/* for a client that can.
- Notifications and alarms (the SNS topic, its rules on the outcome bus, CloudWatch alarms and
  the dashboard) are not created: the outcome bus's tap queue shows every event. The bucket's
  lifecycle rules are created (tag filters included) but moto never applies them.
- The console's sign-in (--console-admin-email, the template's ConsoleAdminEmail): its user
  pool, app client and first user in moto's cognito-idp (console_setup.py says how they
  differ from AWS: a generated temporary password, moto's JWKS URL), and the bucket's CORS
  rule for the console's origin (the local API's URL, or the front door's).

Writes DIR/stack.json (what the driver reads; also each function's access keys),
DIR/iam-policies.json (each function's policy statements as moto enforces them), DIR/functions.env (the union of the functions'
environment variables, shell-quoted, for `cargo lambda watch`) and DIR/outputs.env (the
template's Outputs as STACK_<NAME>=value); DIR/local.env has what exists only locally (the
outcome bus's tap queue; the console's JWKS URL at moto and its admin's temporary password).
"""

import argparse
import json
import os
import re
import shlex
import sys
import tomllib
import urllib.request

import boto3
import yaml

import console_setup

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK = "tiktok-publish-local"


# ------------------------------------------------------------------ the template


class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation's short tags into their long form."""


def _cfn_tag(loader, tag_suffix, node):
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path):
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


# What !Ref AWS::NoValue resolves to: the list item or property it stands for is dropped.
NO_VALUE = object()


def drop_no_value(node):
    if isinstance(node, list):
        return [drop_no_value(x) for x in node if x is not NO_VALUE]
    if isinstance(node, dict):
        return {k: drop_no_value(v) for k, v in node.items() if v is not NO_VALUE}
    return node


class Resolver:
    """Resolves intrinsics against parameters, conditions and what was created locally."""

    def __init__(self, template, parameters):
        self.template = template
        self.parameters = parameters
        self.refs = {}  # logical id -> value of !Ref
        self.attrs = {}  # (logical id, attribute) -> value of !GetAtt
        self.condition_overrides = {}  # condition -> value locally (main says why)
        self.pseudo = {
            "AWS::StackName": STACK,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }

    def ref(self, name):
        for table in (self.parameters, self.pseudo, self.refs):
            if name in table:
                return table[name]
        raise SystemExit(f"setup: !Ref {name}: not created locally (yet)")

    def get_att(self, logical, attribute):
        if (logical, attribute) not in self.attrs:
            raise SystemExit(f"setup: !GetAtt {logical}.{attribute}: not known locally")
        return self.attrs[(logical, attribute)]

    def condition(self, name):
        if name in self.condition_overrides:
            return self.condition_overrides[name]
        return self.resolve(self.template["Conditions"][name])

    def sub(self, text, variables):
        def replace(match):
            expr = match.group(1)
            if expr in variables:
                return str(variables[expr])
            if "." in expr:
                return str(self.get_att(*expr.split(".", 1)))
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(x) for x in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                return self.get_att(*value)
            if key == "Fn::Sub":
                if isinstance(value, str):
                    return self.sub(value, {})
                text, variables = value
                return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::If":
                name, when_true, when_false = value
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(value)
                return left == right
            if key == "Fn::Not":
                (inner,) = value
                return not self.resolve(inner)
            if key == "Fn::And":
                return all(self.resolve(inner) for inner in value)
            if key == "Fn::Or":
                return any(self.resolve(inner) for inner in value)
            if key == "Condition":
                return self.condition(value)
            if key.startswith("Fn::"):
                raise SystemExit(f"setup: intrinsic {key} is not supported locally: teach setup.py")
        return {k: self.resolve(v) for k, v in node.items()}


def take(props, known, where):
    """Fails on a property this file does not handle (a template change to bring here)."""
    unknown = sorted(set(props) - set(known))
    if unknown:
        raise SystemExit(f"setup: {where}: properties not handled locally: {', '.join(unknown)}")


def log(message):
    print(f"setup: {message}", flush=True)


# ------------------------------------------------------------------ resources


def create_table(aws, r, logical, props):
    take(props, {"BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
                 "TimeToLiveSpecification", "PointInTimeRecoverySpecification",
                 "SSESpecification"}, logical)
    # The naming of TableNames::with_prefix (shared/adapters/src/dynamo/mod.rs).
    name = f"{STACK}-{logical.removesuffix('Table').lower()}"
    props = r.resolve(props)
    request = {
        "TableName": name,
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "SSESpecification" in props:
        request["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
    aws["dynamodb"].create_table(**request)
    aws["dynamodb"].get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        aws["dynamodb"].update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        aws["dynamodb"].update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=pitr)
    r.refs[logical] = name
    r.attrs[(logical, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    details = ["key " + "+".join(k["AttributeName"] for k in props["KeySchema"])]
    details += ["GSI " + g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])]
    details += ["TTL " + ttl["AttributeName"]] if ttl else []
    log(f"table {name} ({', '.join(details)})")


def create_bucket(aws, r, logical, props):
    take(props, {"VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration",
                 "OwnershipControls", "NotificationConfiguration", "LifecycleConfiguration",
                 "CorsConfiguration"},
         logical)
    s3 = aws["s3"]
    name = f"{STACK}-{logical.lower()}"
    # AWS::NoValue drops a property (CorsConfiguration without a console).
    props = drop_no_value(r.resolve(props))
    s3.create_bucket(Bucket=name)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "BucketEncryption" in props:
        rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                  **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {})}
                 for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "LifecycleConfiguration" in props:
        rules = []
        for rule in props["LifecycleConfiguration"]["Rules"]:
            take(rule, {"Id", "Status", "Prefix", "TagFilters", "AbortIncompleteMultipartUpload",
                        "NoncurrentVersionExpiration", "ExpirationInDays",
                        "ExpiredObjectDeleteMarker"}, f"{logical} lifecycle rule")
            # CloudFormation's Prefix + TagFilters is the API's Filter (And when tags are set).
            prefix = rule.get("Prefix", "")
            tags = rule.get("TagFilters", [])
            rule_filter = ({"And": {"Prefix": prefix, "Tags": tags}} if tags
                           else {"Prefix": prefix})
            api_rule = {"ID": rule["Id"], "Status": rule["Status"], "Filter": rule_filter}
            for key in ("AbortIncompleteMultipartUpload", "NoncurrentVersionExpiration"):
                if key in rule:
                    api_rule[key] = rule[key]
            if "ExpirationInDays" in rule:
                api_rule["Expiration"] = {"Days": rule["ExpirationInDays"]}
            if rule.get("ExpiredObjectDeleteMarker"):
                api_rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
            rules.append(api_rule)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        # moto keeps the rules (GetBucketLifecycleConfiguration shows them) but never runs them.
        log(f"bucket {name} lifecycle rules: {', '.join(rule['ID'] for rule in rules)} "
            "(not applied locally)")
    if "CorsConfiguration" in props:
        # CloudFormation's names differ from the API's (CorsRules, ExposedHeaders, MaxAge).
        rules = []
        for rule in props["CorsConfiguration"]["CorsRules"]:
            take(rule, {"Id", "AllowedOrigins", "AllowedMethods", "AllowedHeaders",
                        "ExposedHeaders", "MaxAge"}, f"{logical} CORS rule")
            api_rule = {"AllowedOrigins": rule["AllowedOrigins"],
                        "AllowedMethods": rule["AllowedMethods"]}
            for cfn_name, api_name in (("Id", "ID"), ("AllowedHeaders", "AllowedHeaders"),
                                       ("ExposedHeaders", "ExposeHeaders"),
                                       ("MaxAge", "MaxAgeSeconds")):
                if cfn_name in rule:
                    api_rule[api_name] = rule[cfn_name]
            rules.append(api_rule)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        log(f"bucket {name} CORS: " + "; ".join(
            f"{', '.join(rule['AllowedMethods'])} from {', '.join(rule['AllowedOrigins'])}"
            for rule in rules))
    notifications = props.get("NotificationConfiguration")
    if notifications:
        take(notifications, {"EventBridgeConfiguration"}, f"{logical} notifications")
        if notifications["EventBridgeConfiguration"].get("EventBridgeEnabled"):
            # moto then sends "Object Created" events to its EventBridge rules.
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    r.refs[logical] = name
    r.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"
    log(f"bucket {name} (versioning {props.get('VersioningConfiguration', {}).get('Status', 'off')}, "
        f"EventBridge {'on' if notifications else 'off'})")


def create_kms_key(aws, r, logical, props):
    # The key policy is IAM's business (not emulated); moto's KMS enforces the encryption
    # context, so a token copied onto another item does not open locally either.
    take(props, {"Description", "EnableKeyRotation", "KeyPolicy", "KeySpec", "KeyUsage",
                 "PendingWindowInDays"}, logical)
    meta = aws["kms"].create_key(Description=r.resolve(props.get("Description", logical)),
                                 KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"))["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        aws["kms"].enable_key_rotation(KeyId=meta["KeyId"])
    r.refs[logical] = meta["KeyId"]
    r.attrs[(logical, "Arn")] = meta["Arn"]
    r.attrs[(logical, "KeyId")] = meta["KeyId"]
    log(f"kms key {logical} {meta['Arn']}")


def create_kms_alias(aws, r, logical, props):
    take(props, {"AliasName", "TargetKeyId"}, logical)
    name = r.resolve(props["AliasName"])
    aws["kms"].create_alias(AliasName=name, TargetKeyId=r.resolve(props["TargetKeyId"]))
    r.refs[logical] = name
    log(f"kms alias {name}")


def create_event_bus(aws, r, logical, props):
    take(props, {"Name", "Description", "Tags"}, logical)
    name = r.resolve(props["Name"])
    arn = aws["events"].create_event_bus(Name=name)["EventBusArn"]
    r.refs[logical] = name
    r.attrs[(logical, "Arn")] = arn
    r.attrs[(logical, "Name")] = name
    # A tap the tests read what the stack published from (in AWS, a user subscribes the same
    # way: a rule on the bus).
    queue_url, queue_arn = create_queue(aws, r, f"{logical}Tap", {}, name=f"{name}-tap")
    rule = f"{logical}Tap"
    aws["events"].put_rule(Name=rule, EventBusName=name, State="ENABLED",
                           EventPattern=json.dumps({"source": ["tiktok-publish"]}))
    aws["events"].put_targets(Rule=rule, EventBusName=name,
                              Targets=[{"Id": "tap", "Arn": queue_arn}])
    log(f"event bus {name} (every event also lands in the queue {name}-tap)")
    return {"bus": name, "tap_queue_url": queue_url}


def create_secret(aws, r, logical, props, secret_value):
    """A secret the template generates (GenerateSecretString) gets a value generated by
    Secrets Manager with the same rules; any other is seeded from TIKTOK_CLIENT_SECRET."""
    take(props, {"Name", "Description", "GenerateSecretString"}, logical)
    props = r.resolve(props)
    generate = props.get("GenerateSecretString")
    if generate is not None:
        take(generate, {"PasswordLength", "ExcludePunctuation"}, f"{logical} GenerateSecretString")
        secret_value = aws["secretsmanager"].get_random_password(
            PasswordLength=generate.get("PasswordLength", 32),
            ExcludePunctuation=generate.get("ExcludePunctuation", False))["RandomPassword"]
    answer = aws["secretsmanager"].create_secret(
        Name=props["Name"], Description=props.get("Description", ""), SecretString=secret_value)
    r.refs[logical] = answer["ARN"]
    log(f"secret {props['Name']} ({'generated' if generate is not None else 'seeded from TIKTOK_CLIENT_SECRET'})")


def resolve_dynamic_references(aws, text):
    """CloudFormation's {{resolve:secretsmanager:ARN:SecretString}} references, read from moto."""
    def secret(match):
        return aws["secretsmanager"].get_secret_value(SecretId=match.group(1))["SecretString"]
    return re.sub(r"\{\{resolve:secretsmanager:(.+?):SecretString\}\}", secret, text)


def media_origin_settings(aws, r, logical, props):
    """What the template hands the media function (its FunctionCode's Fn::Sub variables,
    resolved), for the local origin that runs the same code: the signing key and TikTok's
    verification file. Fails on a variable the origin would not know."""
    take(props, {"Name", "AutoPublish", "FunctionConfig", "FunctionCode"}, logical)
    _code, variables = props["FunctionCode"]["Fn::Sub"]
    known = {"SigningKey": "signing_key", "VerificationFileName": "verification_file",
             "VerificationFileContent": "verification_text"}
    unknown = sorted(set(variables) - set(known))
    if unknown:
        raise SystemExit(f"setup: {logical}: FunctionCode variables the local origin does not know: "
                         f"{', '.join(unknown)}: teach setup.py and media-origin.mjs")
    return {known[name]: resolve_dynamic_references(aws, str(r.resolve(value)))
            for name, value in variables.items()}


def create_queue(aws, r, logical, props, name=None):
    take(props, {"MessageRetentionPeriod", "SqsManagedSseEnabled", "VisibilityTimeout",
                 "RedrivePolicy"}, logical)
    props = r.resolve(props)
    name = name or f"{STACK}-{logical}"
    attributes = {}
    for key, value in props.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict):
            value = json.dumps(value)
        attributes[key] = str(value)
    url = aws["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    r.refs[logical] = url
    r.attrs[(logical, "Arn")] = arn
    r.attrs[(logical, "QueueName")] = name
    log(f"queue {name}")
    return url, arn


def create_state_machine(aws, r, logical, props, template_dir):
    take(props, {"Type", "DefinitionUri", "Definition", "DefinitionSubstitutions", "Logging",
                 "Policies"}, logical)
    if "DefinitionUri" in props:
        with open(os.path.join(template_dir, props["DefinitionUri"])) as f:
            text = f.read()
    else:
        text = json.dumps(props["Definition"])
    substitutions = r.resolve(props.get("DefinitionSubstitutions", {}))
    text = re.sub(r"\$\{([A-Za-z0-9_]+)\}",
                  lambda m: substitutions[m.group(1)] if m.group(1) in substitutions
                  else sys.exit(f"setup: {logical}: no substitution for ${{{m.group(1)}}}"),
                  text)
    json.loads(text)
    name = f"{STACK}-{logical}"
    # Logging and Policies are IAM and CloudWatch matters: not emulated locally.
    arn = aws["stepfunctions"].create_state_machine(
        name=name, definition=text, type=props.get("Type", "STANDARD"),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{logical}Role")["stateMachineArn"]
    r.refs[logical] = arn
    r.attrs[(logical, "Name")] = name
    r.attrs[(logical, "Arn")] = arn
    filled = ", ".join(f"{k}={v.rsplit(':', 1)[-1]}" for k, v in substitutions.items())
    log(f"state machine {name} ({filled})")
    return {"logical": logical, "name": name, "arn": arn}


def create_event_rules(aws, r, logical, props, fn_binary, globals_fn):
    """An EventBridgeRule event: the same rule, targeting a queue the driver drains into the
    function."""
    sources = []
    for event_name, event in (props.get("Events") or {}).items():
        if event["Type"] == "Schedule":
            # The rule exists as in AWS, without a target: schedules do not fire locally
            # (a test or a person invokes the function through watch's Invoke API).
            event_props = event["Properties"]
            take(event_props, {"Schedule", "Description", "Enabled", "State", "Input", "Name"},
                 f"{logical}.{event_name}")
            rule = f"{logical}{event_name}"
            aws["events"].put_rule(Name=rule, ScheduleExpression=event_props["Schedule"],
                                   State="ENABLED")
            log(f"schedule {rule} {event_props['Schedule']} -> {fn_binary} (does not fire locally)")
            continue
        if event["Type"] != "EventBridgeRule":
            raise SystemExit(f"setup: {logical} event {event_name}: type {event['Type']} not emulated locally")
        event_props = event["Properties"]
        take(event_props, {"Pattern", "RetryPolicy", "DeadLetterConfig"}, f"{logical}.{event_name}")
        event_props = r.resolve(event_props)
        rule = f"{logical}{event_name}"  # SAM's logical id of the rule
        retries = props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2)
        timeout = props.get("Timeout", globals_fn.get("Timeout", 3))
        queue_props = {"VisibilityTimeout": timeout}
        dlq = props.get("DeadLetterQueue")
        if dlq:
            queue_props["RedrivePolicy"] = {"deadLetterTargetArn": r.resolve(dlq["TargetArn"]),
                                            "maxReceiveCount": 1 + retries}
        queue_url, queue_arn = create_queue(aws, r, f"{rule}Queue", queue_props,
                                            name=f"{STACK}-{fn_binary}-events")
        aws["events"].put_rule(Name=rule, EventPattern=json.dumps(event_props["Pattern"]),
                               State="ENABLED")
        target = {"Id": f"{fn_binary}-queue", "Arn": queue_arn}
        for key in ("RetryPolicy", "DeadLetterConfig"):
            if key in event_props:
                target[key] = event_props[key]
        aws["events"].put_targets(Rule=rule, Targets=[target])
        r.attrs[(rule, "Arn")] = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
        log(f"rule {rule} -> queue {STACK}-{fn_binary}-events -> {fn_binary} "
            f"(pattern {json.dumps(event_props['Pattern'])})")
        sources.append({"rule": rule, "queue_url": queue_url, "function": fn_binary,
                        "timeout_seconds": timeout})
    return sources


NOT_NOTIFIED = "notifications and alarms are not emulated; the tap queue shows every event"
FRONT_DOOR_LOCALLY = "moto has no CloudFront: the local media origin (media-origin.mjs) stands in"


def skip_notification_rule(template, logical, props):
    """A rule of its own (not a function's event) is accepted only when all it does is notify
    through the template's SNS topics, which are not emulated; anything else must be taught
    here."""
    take(props, {"Description", "EventBusName", "State", "EventPattern", "Targets"}, logical)
    resources = template["Resources"]
    for target in props.get("Targets", []):
        arn = target.get("Arn")
        topic = arn.get("Ref") if isinstance(arn, dict) else None
        if resources.get(topic, {}).get("Type") != "AWS::SNS::Topic":
            raise SystemExit(f"setup: {logical}: a rule target other than an SNS topic of the "
                             "template is not emulated locally: teach setup.py")
    log(f"rule {logical} -> SNS not created ({NOT_NOTIFIED})")


# ------------------------------------------------------------------ the functions' permissions

# What moto 5.2.5 checks when IAM enforcement is on (moto/iam/access_control.py): the action
# of every request, named <signing service>:<operation> ("dynamodb:UpdateItem"), against the
# caller's policies. Resources only for S3 (the bucket or object ARN) and SQS (the queue ARN):
# every other service's request is checked against the resource "*", which a statement naming
# an ARN never matches, so locally those statements name "*" (the action is what is checked).
RESOURCE_CHECKED_SERVICES = {"s3", "sqs"}

# Requests moto names by another action than AWS does (moto's S3 ACTION_MAP): a statement
# granting AWS's action also grants moto's name for the same request, locally only.
MOTO_ACTION_NAMES = {
    # GetObjectTagging with a versionId: moto checks s3:GetObjectVersion.
    "s3:GetObjectVersionTagging": ["s3:GetObjectVersion"],
    # PutObjectTagging with a versionId: moto checks s3:PutObjectTagging.
    "s3:PutObjectVersionTagging": ["s3:PutObjectTagging"],
}


def function_statements(r, logical, props):
    """A function's `Policies` as IAM statements, resolved. Inline statements only: a SAM
    policy template or a managed policy must be taught here (what it expands to)."""
    statements = []
    for policy in drop_no_value(r.resolve(props.get("Policies") or [])):
        if isinstance(policy, dict) and "Statement" in policy:
            take(policy, {"Version", "Statement"}, f"{logical} policy")
            found = policy["Statement"]
            statements += found if isinstance(found, list) else [found]
        else:
            raise SystemExit(f"setup: {logical}: policy {json.dumps(policy)} (a SAM policy template "
                             "or a managed policy) is not emulated locally: teach setup.py")
    return statements


def local_policy(logical, statements):
    """The statements as moto can enforce them: one per service (RESOURCE_CHECKED_SERVICES
    keep their resources, the others name "*"), moto's names for the same requests added
    (MOTO_ACTION_NAMES), and without Condition blocks: moto evaluates conditions of identity
    policies without any request context (StringLike, ForAllValues:... are skipped, a
    StringEquals passes for want of values), so they would only look enforced."""
    local, dropped_conditions = [], []
    for index, statement in enumerate(statements):
        where = f"{logical} statement {statement.get('Sid', index)}"
        take(statement, {"Sid", "Effect", "Action", "Resource", "Condition"}, where)
        if statement["Effect"] != "Allow":
            # Widening a Deny's resource to "*" would deny more than AWS does.
            raise SystemExit(f"setup: {where}: Effect {statement['Effect']} is not emulated locally: "
                             "teach setup.py")
        if "Condition" in statement:
            dropped_conditions.append(statement.get("Sid", str(index)))
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        by_service = {}
        for action in actions:
            service = action.split(":", 1)[0]
            names = by_service.setdefault(service, [])
            for name in [action] + MOTO_ACTION_NAMES.get(action, []):
                if name not in names:
                    names.append(name)
        for service, names in by_service.items():
            entry = {"Effect": "Allow", "Action": names,
                     "Resource": statement["Resource"] if service in RESOURCE_CHECKED_SERVICES else "*"}
            if "Sid" in statement:
                # Sids are unique in a policy: a statement split by service gets one each.
                entry["Sid"] = statement["Sid"] + (service.capitalize() if len(by_service) > 1 else "")
            local.append(entry)
    return local, dropped_conditions


def create_function_users(aws, r, functions, resources):
    """Each function's role as an IAM user with the role's statements (local_policy) and
    access keys the function runs with."""
    credentials, policies = {}, {}
    for logical, binary in functions.items():
        statements, dropped = local_policy(
            logical, function_statements(r, logical, resources[logical]["Properties"]))
        user = f"{STACK}-{binary}"
        aws["iam"].create_user(UserName=user)
        aws["iam"].put_user_policy(UserName=user, PolicyName=f"{logical}Policies",
                                   PolicyDocument=json.dumps({"Version": "2012-10-17",
                                                              "Statement": statements}))
        key = aws["iam"].create_access_key(UserName=user)["AccessKey"]
        credentials[binary] = {"user": user, "access_key_id": key["AccessKeyId"],
                               "secret_access_key": key["SecretAccessKey"]}
        policies[binary] = statements
        actions = sorted({a for s in statements for a in s["Action"]})
        log(f"iam user {user}: {len(actions)} actions"
            + (f" (conditions not enforced: {', '.join(dropped)})" if dropped else ""))
    return credentials, policies


def enable_iam_enforcement(endpoint):
    """From now on moto checks every request's signature and action (until now it counted
    them: INITIAL_NO_AUTH_ACTION_COUNT is infinite by default); 0 = enforce at once."""
    # Not form-encoded (urllib's default type): Flask would parse the body away.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise SystemExit(f"setup: moto refused to enforce IAM (HTTP {answer.status})")
    log("IAM enforced: each function has its template policies' actions; key `test` is root")


# ------------------------------------------------------------------ the HTTP API routes


def check_routes(template, r, cargo_toml, repo_root):
    """The template's HTTP API routes must be in watch's router table with the same
    function. A missing route is an error once its function's crate exists."""
    with open(cargo_toml, "rb") as f:
        router = (tomllib.load(f).get("workspace", {}).get("metadata", {}).get("lambda", {})
                  .get("watch", {}).get("router", {}))
    resources = template["Resources"]
    problems, pending, routes = [], [], []
    for logical, res in resources.items():
        if res["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        method, path = res["Properties"]["RouteKey"].split(" ", 1)
        target = res["Properties"]["Target"]["Fn::Sub"]
        integration = re.fullmatch(r"integrations/\$\{(\w+)\}", target).group(1)
        function_logical = resources[integration]["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
        binary = resources[function_logical]["Metadata"]["BuildProperties"]["Binary"]
        routes.append(f"{method} {path} -> {binary}")
        entry = router.get(path)
        if isinstance(entry, str):
            served = entry
        elif isinstance(entry, list) and method != "ANY":
            served = next((e["function"] for e in entry if e.get("method") == method), None)
        else:
            # watch matches a listed method exactly: an `ANY` route needs a bare function
            # name (every method) in the table.
            served = None
        if served == binary:
            continue
        message = f"{method} {path}: template -> {binary}, Cargo.toml router -> {served or 'nothing'}"
        if os.path.exists(os.path.join(repo_root, "functions", binary, "Cargo.toml")):
            problems.append(message)
        else:
            pending.append(message + f" (functions/{binary} does not exist yet)")
    for message in pending:
        log(f"warning: route not served locally: {message}")
    if problems:
        raise SystemExit("setup: the router table in Cargo.toml "
                         "([workspace.metadata.lambda.watch.router]) differs from the template:\n  "
                         + "\n  ".join(problems))
    return routes


# ------------------------------------------------------------------ main


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="the moto server's URL")
    parser.add_argument("--api-url", required=True, help="the local HTTP API's base URL (watch)")
    parser.add_argument("--out", required=True, help="directory for stack.json and functions.env")
    parser.add_argument("--template", default="infra/template.yaml")
    parser.add_argument("--cargo-toml", default="Cargo.toml")
    parser.add_argument("--front-door", default="",
                        help="the local media origin's HOST:PORT; empty: no front door (no DomainName)")
    parser.add_argument("--video-source-default", default="",
                        help="the functions' VIDEO_SOURCE_DEFAULT (the template leaves it unset)")
    parser.add_argument("--console-admin-email", default="",
                        help="the template's ConsoleAdminEmail; empty: no console sign-in")
    args = parser.parse_args()

    template = load_template(args.template)
    template_dir = os.path.dirname(os.path.abspath(args.template))
    repo_root = os.path.dirname(os.path.abspath(args.cargo_toml))

    local_values = {
        "TikTokClientKey": os.environ["TIKTOK_CLIENT_KEY"],
        "TikTokApiBaseUrl": os.environ["TIKTOK_API_BASE_URL"],
        "TikTokAuthBaseUrl": os.environ["TIKTOK_AUTH_BASE_URL"],
        # Empty: the API's own URL (HttpApi.ApiEndpoint), which locally is watch's.
        "PublicBaseUrl": "",
        # The local media origin's host and port (see the docstring); empty: no front door.
        "DomainName": args.front_door,
        # Never read locally (no CloudFront): only the template's rule needs one with a domain.
        "CertificateArn": (f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/local-front-door"
                           if args.front_door else ""),
        "ConsoleAdminEmail": args.console_admin_email,
        # What the console's public pages name (the template's rule wants all three with it).
        "OperatorName": "Local stack operator" if args.console_admin_email else "",
        "OperatorContactEmail": args.console_admin_email,
        "OperatorJurisdiction": "the local stack (no law applies)" if args.console_admin_email else "",
    }
    parameters = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in local_values:
            parameters[name] = local_values[name]
        elif "Default" in spec:
            parameters[name] = spec["Default"]
        else:
            raise SystemExit(f"setup: template parameter {name} has no default and no local value")
    r = Resolver(template, parameters)
    # The public routes stay on the local API with a front door too (see the docstring).
    r.condition_overrides["UseApiUrl"] = parameters["PublicBaseUrl"] == ""

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=REGION)
    aws = {name: session.client(name, endpoint_url=args.endpoint)
           for name in ("dynamodb", "s3", "secretsmanager", "sqs", "events", "stepfunctions", "kms",
                        "iam", "cognito-idp")}

    # A resource whose Condition is false does not exist, as in CloudFormation (the front
    # door without DomainName).
    resources = {}
    for logical, res in template["Resources"].items():
        if "Condition" in res and not r.condition(res["Condition"]):
            log(f"{logical} ({res['Type']}): condition {res['Condition']} is false, not created")
            continue
        resources[logical] = res
    globals_fn = template.get("Globals", {}).get("Function", {})
    by_type = {}
    for logical, res in resources.items():
        by_type.setdefault(res["Type"], []).append(logical)

    # Functions first (only names: watch serves them), then the resources in dependency order.
    functions = {}
    for logical in by_type.get("AWS::Serverless::Function", []):
        binary = resources[logical]["Metadata"]["BuildProperties"]["Binary"]
        functions[logical] = binary
        r.refs[logical] = binary
        r.attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{binary}"
    for logical in by_type.get("AWS::ApiGatewayV2::Api", []):
        r.refs[logical] = "local-http-api"
        r.attrs[(logical, "ApiEndpoint")] = args.api_url

    handled = {"AWS::Serverless::Function", "AWS::ApiGatewayV2::Api"}
    # Not emulated locally, with the reason.
    skipped = {
        "AWS::Logs::LogGroup": "logs go to the processes' output",
        "AWS::SQS::QueuePolicy": "resource policies are not emulated (only the functions' own policies)",
        "AWS::S3::BucketPolicy": "resource policies are not emulated (its TLS-only rule would refuse the plain-HTTP loopback endpoint)",
        "AWS::Lambda::Permission": "resource policies are not emulated (the driver invokes the functions)",
        "AWS::ApiGatewayV2::Stage": "cargo lambda watch serves the API (no throttling, no access log)",
        "AWS::ApiGatewayV2::Integration": "cargo lambda watch serves the API (router table in Cargo.toml)",
        "AWS::ApiGatewayV2::Route": "cargo lambda watch serves the API (router table in Cargo.toml)",
        "AWS::SNS::Topic": NOT_NOTIFIED,
        "AWS::SNS::TopicPolicy": NOT_NOTIFIED,
        "AWS::SNS::Subscription": NOT_NOTIFIED,
        "AWS::CloudWatch::Alarm": NOT_NOTIFIED,
        "AWS::CloudWatch::Dashboard": "metrics are printed to the functions' output (embedded metric format), not collected",
        # moto has no CloudFront: the entry script's media origin (media-origin.mjs) serves
        # the distribution's paths, running the function's code with its resolved settings.
        "AWS::CloudFront::Distribution": FRONT_DOOR_LOCALLY,
        "AWS::CloudFront::Function": FRONT_DOOR_LOCALLY,
        "AWS::CloudFront::OriginAccessControl": FRONT_DOOR_LOCALLY,
        "AWS::CloudFront::OriginRequestPolicy": FRONT_DOOR_LOCALLY,
    }
    unknown = sorted(set(by_type) - handled - set(skipped) - {
        "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::Events::EventBus",
        "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue", "AWS::Serverless::StateMachine", "AWS::Events::Rule",
        *console_setup.TYPES})
    if unknown:
        raise SystemExit(f"setup: resource types not emulated locally: {', '.join(unknown)}: teach setup.py")

    for logical in by_type.get("AWS::KMS::Key", []):
        create_kms_key(aws, r, logical, resources[logical]["Properties"])
    for logical in by_type.get("AWS::KMS::Alias", []):
        create_kms_alias(aws, r, logical, resources[logical]["Properties"])
    event_buses = [create_event_bus(aws, r, logical, resources[logical]["Properties"])
                   for logical in by_type.get("AWS::Events::EventBus", [])]
    for logical in by_type.get("AWS::Events::Rule", []):
        skip_notification_rule(template, logical, resources[logical]["Properties"])
    # What the Outputs may name of the resources not created: the names they would have.
    for logical in by_type.get("AWS::SNS::Topic", []):
        r.refs[logical] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-{logical}"
    for logical in by_type.get("AWS::CloudWatch::Dashboard", []):
        r.refs[logical] = STACK
    # The distribution's name is the local origin's (FrontDoorTarget output).
    for logical in by_type.get("AWS::CloudFront::Distribution", []):
        r.attrs[(logical, "DomainName")] = args.front_door
    for logical in by_type.get("AWS::DynamoDB::Table", []):
        create_table(aws, r, logical, resources[logical]["Properties"])
    for logical in by_type.get("AWS::S3::Bucket", []):
        create_bucket(aws, r, logical, resources[logical]["Properties"])
    console_env = console_setup.create_console(aws, r, by_type, resources, args.endpoint, take, log)
    for logical in by_type.get("AWS::SecretsManager::Secret", []):
        create_secret(aws, r, logical, resources[logical]["Properties"],
                      os.environ["TIKTOK_CLIENT_SECRET"])
    for logical in by_type.get("AWS::SQS::Queue", []):
        create_queue(aws, r, logical, resources[logical].get("Properties", {}))
    media_origin = [media_origin_settings(aws, r, logical, resources[logical]["Properties"])
                    for logical in by_type.get("AWS::CloudFront::Function", [])]
    if len(media_origin) > 1:
        raise SystemExit("setup: more than one CloudFront function: the local origin runs one")
    state_machines = [create_state_machine(aws, r, logical, resources[logical]["Properties"], template_dir)
                      for logical in by_type.get("AWS::Serverless::StateMachine", [])]
    event_sources = []
    for logical, binary in functions.items():
        event_sources += create_event_rules(aws, r, logical, resources[logical]["Properties"],
                                            binary, globals_fn)
    routes = check_routes(template, r, args.cargo_toml, repo_root)
    function_credentials, function_policies = create_function_users(aws, r, functions, resources)

    # The functions' environment: Globals plus each function's own, resolved. One watch
    # process serves them all, so a name must mean the same for every function.
    function_env = {}
    global_vars = globals_fn.get("Environment", {}).get("Variables", {})
    for logical, binary in functions.items():
        own = resources[logical]["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in drop_no_value(r.resolve({**global_vars, **own})).items():
            value = str(value)
            if function_env.get(key, value) != value:
                raise SystemExit(f"setup: {key} differs between functions ({function_env[key]!r} vs {value!r})")
            function_env[key] = value
    if args.video_source_default:
        function_env["VIDEO_SOURCE_DEFAULT"] = args.video_source_default
    if console_env:
        # The template's JWKS URL names AWS's host; moto serves the keys itself.
        function_env["CONSOLE_JWKS_URL"] = console_env["LOCAL_CONSOLE_JWKS_URL"]
        # The console's clock, moved by the browser tests (a file of seconds to add; the
        # template never sets this).
        clock_file = os.path.join(os.path.abspath(args.out), "console-clock-offset")
        with open(clock_file, "w") as f:
            f.write("0\n")
        function_env["CONSOLE_CLOCK_OFFSET_FILE"] = clock_file
        console_env["LOCAL_CONSOLE_CLOCK_OFFSET_FILE"] = clock_file

    outputs = {name: str(r.resolve(spec["Value"]))
               for name, spec in template.get("Outputs", {}).items()
               if "Condition" not in spec or r.condition(spec["Condition"])}

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "functions.env"), "w") as f:
        for key in sorted(function_env):
            f.write(f"{key}={shlex.quote(function_env[key])}\n")
    # The template's Outputs, as STACK_<NAME> (ApiUrl -> STACK_API_URL), for tests and CLIs.
    with open(os.path.join(args.out, "outputs.env"), "w") as f:
        for name in sorted(outputs):
            key = "STACK_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()
            f.write(f"{key}={shlex.quote(outputs[name])}\n")
    # What the media origin runs with (the signing key: readable by this user only).
    if media_origin:
        path = os.path.join(args.out, "media-origin.json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(media_origin[0], f)
    # What exists only locally (the event buses' taps), for tests.
    with open(os.path.join(args.out, "local.env"), "w") as f:
        for bus in event_buses:
            f.write(f"LOCAL_OUTCOME_TAP_QUEUE_URL={shlex.quote(bus['tap_queue_url'])}\n")
        for key, value in console_env.items():
            f.write(f"{key}={shlex.quote(value)}\n")
    with open(os.path.join(args.out, "stack.json"), "w") as f:
        json.dump({
            "stack_name": STACK,
            "region": REGION,
            "account": ACCOUNT,
            "endpoint": args.endpoint,
            "api_url": args.api_url,
            "functions": functions,
            # What Lambda would give each function (the runtime's environment).
            "function_settings": {
                binary: {
                    # Resolved: a setting may depend on a condition (UploadInit's memory
                    # grows with a front door, for photo decoding).
                    "memory": r.resolve(resources[logical]["Properties"].get(
                        "MemorySize", globals_fn.get("MemorySize", 128))),
                    "timeout": r.resolve(resources[logical]["Properties"].get(
                        "Timeout", globals_fn.get("Timeout", 3))),
                }
                for logical, binary in functions.items()
            },
            "function_env": function_env,
            # The access keys of each function's IAM user (create_function_users).
            "function_credentials": function_credentials,
            "state_machines": state_machines,
            "event_sources": event_sources,
            "event_buses": event_buses,
            "routes": routes,
            "outputs": outputs,
        }, f, indent=2)
    with open(os.path.join(args.out, "iam-policies.json"), "w") as f:
        json.dump(function_policies, f, indent=2)
    log(f"outputs: {json.dumps(outputs)}")
    enable_iam_enforcement(args.endpoint)


if __name__ == "__main__":
    main()
