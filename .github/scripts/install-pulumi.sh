#!/usr/bin/env bash
# Installs the Pulumi CLI of version $PULUMI_VERSION from its GitHub release, checked against the
# release's checksums, and puts it on the job's PATH.
set -euo pipefail
: "${PULUMI_VERSION:?set PULUMI_VERSION, e.g. 3.272.0}"
cd "${RUNNER_TEMP:?runs in a GitHub Actions job}"
archive="pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz"
base="https://github.com/pulumi/pulumi/releases/download/v${PULUMI_VERSION}"
curl -fsSL --retry 3 -o "$archive" "$base/$archive"
curl -fsSL --retry 3 -o checksums.txt "$base/pulumi-${PULUMI_VERSION}-checksums.txt"
grep " ${archive}\$" checksums.txt | sha256sum --check --strict -
tar -xzf "$archive"
echo "$RUNNER_TEMP/pulumi" >> "$GITHUB_PATH"
