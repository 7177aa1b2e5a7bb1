"""Expand infra/template.yaml with the AWS SAM translator (the code behind the
AWS::Serverless-2016-10-31 transform) and write the resulting CloudFormation as JSON.

check.sh lints that output with cfn-lint as well, so the resources SAM generates
(function URL, SNS subscription, invoke permissions, event invoke config, ...) are
validated as CloudFormation will see them, and a property SAM rejects fails the check.

Usage: python sam_translate.py TEMPLATE OUTPUT
"""

from __future__ import annotations

import json
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

# `sam build` uploads each function's package and rewrites CodeUri to its S3 location;
# the translator only accepts that form, so local paths get a placeholder.
PLACEHOLDER_CODE_URI = "s3://reflex-placeholder-bucket/placeholder.zip"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv[1], argv[2]
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    with open(source, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())

    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            code_uri = resource.get("Properties", {}).get("CodeUri")
            if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
                resource["Properties"]["CodeUri"] = PLACEHOLDER_CODE_URI
            elif code_uri is None:
                print(f"{name}: CodeUri missing", file=sys.stderr)
                return 1

    translator = Translator(managed_policy_map=None, sam_parser=Parser())
    try:
        output = translator.translate(
            sam_template=template,
            parameter_values={},
            get_managed_policy_map=lambda: {},
        )
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"SAM transform: {cause.message}", file=sys.stderr)
        return 1

    with open(target, "w", encoding="utf-8") as handle:
        json.dump(output, handle, indent=2, sort_keys=True)
    print(f"SAM transform: {len(output.get('Resources', {}))} resources -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
