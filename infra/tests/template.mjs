// infra/template.yaml as the tests in this folder read it: CloudFormation's short tags in their
// long form ({"Fn::If": [...]}, {"Ref": "X"}, {"Fn::GetAtt": ["R", "Arn"]}).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, "..", "..");

const cfnTags = ["Ref", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select",
  "Split", "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Condition"]
  .flatMap((name) => ["scalar", "seq", "map"].map((kind) => ({
    tag: `!${name}`,
    collection: kind === "scalar" ? undefined : kind,
    resolve: (value) => {
      const plain = value && typeof value.toJSON === "function" ? value.toJSON() : value;
      const key = name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
      return { [key]: name === "GetAtt" && typeof plain === "string" ? plain.split(".") : plain };
    },
  })));

export const template = YAML.parse(readFileSync(join(repoRoot, "infra/template.yaml"), "utf8"),
  { customTags: cfnTags });
