// posts-api's routes in infra/template.yaml are docs/openapi.json's paths, each `ANY` (every
// method reaches the function, which answers a method its path does not take with 405 and
// `Allow`) and each IAM-authorised. The document is the function's own (posts-api's tests
// hold it to the router), so a path added to the API but not to the template fails here.
// Usage: node --test infra/tests/     (scripts/lint-infra runs it)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, template } from "./template.mjs";

const document = JSON.parse(readFileSync(join(repoRoot, "docs/openapi.json"), "utf8"));

const postsApiRoutes = Object.entries(template.Resources)
  .filter(([, r]) => r.Type === "AWS::ApiGatewayV2::Route")
  .filter(([, r]) => r.Properties.Target["Fn::Sub"] === "integrations/${PostsApiIntegration}");

test("posts-api's routes are the document's paths", () => {
  const paths = postsApiRoutes.map(([, r]) => r.Properties.RouteKey.split(" ")[1]).sort();
  assert.deepEqual(paths, Object.keys(document.paths).sort());
});

test("every posts-api route takes any method and is IAM-authorised", () => {
  assert.ok(postsApiRoutes.length > 0, "no route targets PostsApiIntegration");
  for (const [name, route] of postsApiRoutes) {
    const [method] = route.Properties.RouteKey.split(" ");
    assert.equal(method, "ANY", `${name}: ${route.Properties.RouteKey}`);
    assert.equal(route.Properties.AuthorizationType, "AWS_IAM", name);
  }
});

test("the document asks for the IAM signature on every operation", () => {
  assert.deepEqual(document.security, [{ aws_iam: [] }]);
  assert.ok(document.components.securitySchemes.aws_iam, "the aws_iam scheme is described");
});
