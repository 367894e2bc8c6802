"""Compile TestToken.sol into TestToken.json (ABI + creation bytecode), committed beside it.

Run at development time only, after changing the source (tests never compile)::

    .venv/bin/python -m tests.anvil.contracts.build

It runs solc-js from the npm registry (``npx --yes solc@SOLC_VERSION --standard-json``) with
a pinned compiler version, EVM version and optimizer settings, so the output is reproducible.
The artifact records the source's sha256; tests/anvil/test_contract.py checks that it matches,
so a source edited without rebuilding fails the suite.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "TestToken.sol"
ARTIFACT = HERE / "TestToken.json"
CONTRACT = "TestToken"
SOLC_VERSION = "0.8.37"
EVM_VERSION = "cancun"  # every anvil of the last years runs it; newer defaults gain nothing here


def source_sha256(path: Path = SOURCE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def standard_input() -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {SOURCE.name: {"content": SOURCE.read_text("utf-8")}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": EVM_VERSION,
            "metadata": {"bytecodeHash": "none"},  # no IPFS hash: output depends on code only
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"]}
            },
        },
    }


def compile_source() -> dict[str, Any]:
    completed = subprocess.run(
        ["npx", "--yes", f"solc@{SOLC_VERSION}", "--standard-json"],
        input=json.dumps(standard_input()),
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE,
    )
    # solc-js may print warnings before the JSON document; the document is the last line.
    output = json.loads(completed.stdout.strip().splitlines()[-1])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    contract = output["contracts"][SOURCE.name][CONTRACT]
    return {
        "contractName": CONTRACT,
        "source": SOURCE.name,
        "sourceSha256": source_sha256(),
        "compiler": f"solc-js {SOLC_VERSION} (npm: solc@{SOLC_VERSION})",
        "settings": standard_input()["settings"] | {"outputSelection": "see build.py"},
        "abi": contract["abi"],
        "methodIdentifiers": contract["evm"]["methodIdentifiers"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
    }


def main() -> None:
    artifact = compile_source()
    ARTIFACT.write_text(json.dumps(artifact, indent=2) + "\n", "utf-8")
    print(f"wrote {ARTIFACT.relative_to(Path.cwd())}: {len(artifact['bytecode']) // 2 - 1} bytes")


if __name__ == "__main__":
    main()
