// The console's sign-in settings in infra/template.yaml. moto (the local stack) ignores an app
// client's secret and auth flows and a pool's self sign-up setting, so no local run would
// notice if they changed: this test is what holds them. It also checks that without
// ConsoleAdminEmail nothing of the console is deployed (the stack as it was without one).
// Usage: node --test infra/tests/     (scripts/lint-infra runs it)
import { test } from "node:test";
import assert from "node:assert/strict";
import { template } from "./template.mjs";

const resources = template.Resources;
const NO_VALUE = Symbol("AWS::NoValue");

/// The template as CloudFormation would deploy it with these parameter values: resources and
/// outputs whose Condition is false removed, every Fn::If resolved, AWS::NoValue dropped.
function deployed(parameterValues) {
  const parameters = {};
  for (const [name, spec] of Object.entries(template.Parameters)) {
    parameters[name] = name in parameterValues ? parameterValues[name]
      : "Default" in spec ? String(spec.Default) : `value-of-${name}`;
  }
  const condition = (name) => evaluate(template.Conditions[name]);
  function evaluate(node) {
    if (typeof node !== "object" || node === null) return node;
    if ("Condition" in node && Object.keys(node).length === 1) return condition(node.Condition);
    if ("Ref" in node && Object.keys(node).length === 1) {
      return node.Ref in parameters ? parameters[node.Ref] : node;
    }
    if ("Fn::Equals" in node) { const [a, b] = node["Fn::Equals"].map(evaluate); return a === b; }
    if ("Fn::Not" in node) return !evaluate(node["Fn::Not"][0]);
    if ("Fn::And" in node) return node["Fn::And"].every(evaluate);
    if ("Fn::Or" in node) return node["Fn::Or"].some(evaluate);
    throw new Error(`condition not understood: ${JSON.stringify(node)}`);
  }
  function resolveIfs(node) {
    if (Array.isArray(node)) return node.map(resolveIfs).filter((x) => x !== NO_VALUE);
    if (typeof node !== "object" || node === null) return node;
    if (node.Ref === "AWS::NoValue") return NO_VALUE;
    if ("Fn::If" in node) {
      const [name, whenTrue, whenFalse] = node["Fn::If"];
      return resolveIfs(condition(name) ? whenTrue : whenFalse);
    }
    return Object.fromEntries(Object.entries(node)
      .map(([key, value]) => [key, resolveIfs(value)])
      .filter(([, value]) => value !== NO_VALUE));
  }
  const keep = (section) => Object.fromEntries(Object.entries(section)
    .filter(([, entry]) => !entry.Condition || condition(entry.Condition))
    .map(([name, entry]) => [name, resolveIfs(entry)]));
  return { Resources: keep(template.Resources), Outputs: keep(template.Outputs) };
}

const ofType = (type) => Object.entries(resources).filter(([, r]) => r.Type === type);
const onlyOne = (type) => {
  const found = ofType(type);
  assert.equal(found.length, 1, `exactly one ${type} in the template`);
  return found[0];
};
// The parameter combinations that change what exists: with and without the front door.
const variants = [
  { DomainName: "", CertificateArn: "", PublicBaseUrl: "" },
  { DomainName: "posts.example.com", CertificateArn: "arn:aws:acm:us-east-1:1:certificate/x", PublicBaseUrl: "" },
];

test("the app client has no secret and allows exactly USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH", () => {
  const [, client] = onlyOne("AWS::Cognito::UserPoolClient");
  const props = client.Properties;
  // Absent means no secret too, but say it: a secret would be one more thing to keep.
  assert.equal(props.GenerateSecret, false, "GenerateSecret must be false");
  assert.deepEqual([...props.ExplicitAuthFlows].sort(),
    ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]);
  assert.equal(props.PreventUserExistenceErrors, "ENABLED");
  assert.ok(!("AllowedOAuthFlows" in props) && !("CallbackURLs" in props),
    "no hosted UI / OAuth flows: the console signs in with InitiateAuth only");
});

test("nobody signs up: only the administrator creates users", () => {
  const [, pool] = onlyOne("AWS::Cognito::UserPool");
  assert.equal(pool.Properties.AdminCreateUserConfig.AllowAdminCreateUserOnly, true);
  assert.equal(pool.Properties.MfaConfiguration, "OPTIONAL");
  assert.deepEqual(pool.Properties.EnabledMfas, ["SOFTWARE_TOKEN_MFA"], "TOTP only, no SMS");
  assert.deepEqual(pool.Properties.AccountRecoverySetting.RecoveryMechanisms.map((m) => m.Name),
    ["verified_email"]);
});

test("the console's condition is ConsoleAdminEmail set", () => {
  assert.deepEqual(template.Conditions.HasConsole,
    { "Fn::Not": [{ "Fn::Equals": [{ Ref: "ConsoleAdminEmail" }, ""] }] });
  assert.equal(template.Parameters.ConsoleAdminEmail.Default, "");
});

test("without ConsoleAdminEmail nothing of the console exists", () => {
  for (const variant of variants) {
    const without = deployed({ ...variant, ConsoleAdminEmail: "" });
    const text = JSON.stringify(without);
    for (const word of ["Cognito", "Console", "CorsConfiguration"]) {
      assert.ok(!text.includes(word), `${word} is deployed without ConsoleAdminEmail (${JSON.stringify(variant)})`);
    }
    // And everything else is the same as with a console.
    const withConsole = deployed({ ...variant, ConsoleAdminEmail: "admin@example.com" });
    const consoleResources = Object.keys(withConsole.Resources)
      .filter((name) => !(name in without.Resources));
    const outsideTheConsole = consoleResources.filter((name) => !name.startsWith("Console"));
    assert.deepEqual(outsideTheConsole, [], "a console resource is named Console...");
    for (const name of ["ConsoleAdminUser", "ConsoleUserPool", "ConsoleUserPoolClient",
      "ConsoleSessionsTable", "ConsoleFunction", "ConsoleLogGroup", "ConsoleIntegration",
      "ConsoleInvokePermission", "ConsoleSignInRoute", "ConsolePostPageRoute"]) {
      assert.ok(consoleResources.includes(name), `${name} comes with a console`);
    }
    const consoleOutputs = Object.keys(withConsole.Outputs).filter((name) => !(name in without.Outputs));
    assert.deepEqual(consoleOutputs.sort(),
      ["ConsoleIssuer", "ConsoleJwksUrl", "ConsoleUserPoolClientId", "ConsoleUserPoolId"]);
    const { CorsConfiguration, ...bucketRest } = withConsole.Resources.VideoBucket.Properties;
    assert.ok(CorsConfiguration, "the bucket allows the console's uploads with a console");
    assert.deepEqual(bucketRest, without.Resources.VideoBucket.Properties);
  }
});

test("the bucket's CORS lets only the console's origin upload, and exposes ETag", () => {
  for (const variant of variants) {
    const bucket = deployed({ ...variant, ConsoleAdminEmail: "admin@example.com" })
      .Resources.VideoBucket.Properties;
    const [rule, ...others] = bucket.CorsConfiguration.CorsRules;
    assert.equal(others.length, 0, "one rule (S3 and moto would otherwise merge them differently)");
    const origin = variant.DomainName
      ? { "Fn::Sub": "https://${DomainName}" }
      : { "Fn::GetAtt": ["HttpApi", "ApiEndpoint"] };
    assert.deepEqual(rule.AllowedOrigins, [origin]);
    assert.deepEqual(rule.ExposedHeaders, ["ETag"]);
    assert.deepEqual([...rule.AllowedMethods].sort(), ["DELETE", "GET", "POST", "PUT"]);
    assert.ok(!rule.AllowedOrigins.includes("*"));
  }
});

test("the outputs give the issuer and JWKS URL in AWS's form", () => {
  assert.deepEqual(template.Outputs.ConsoleIssuer.Value,
    { "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}" });
  assert.deepEqual(template.Outputs.ConsoleJwksUrl.Value,
    { "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}/.well-known/jwks.json" });
});
