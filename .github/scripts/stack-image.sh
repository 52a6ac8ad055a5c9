#!/usr/bin/env bash
# Writes the stack's ECR repository URL (`url`) and whether the image tagged $IMAGE_TAG is in it
# already (`pushed`: true or false) to the step's outputs. Needs $STACK, $IMAGE_TAG, the Pulumi
# backend's settings and AWS credentials that may describe the repository's images.
set -euo pipefail
: "${STACK:?set STACK, the Pulumi stack (dev or prod)}"
: "${IMAGE_TAG:?set IMAGE_TAG, the image tag (the commit SHA)}"
: "${GITHUB_OUTPUT:?runs in a GitHub Actions step}"

url=$(pulumi stack output repositoryUrl --stack "$STACK")
if [[ -z "$url" || "$url" != */* ]]; then
  echo "stack $STACK has no repositoryUrl output ('$url'): run its first pulumi up by hand" >&2
  exit 1
fi

# The repository's name is the URL's path: <account>.dkr.ecr.<region>.amazonaws.com/<name>.
# Only "no such image" means build it; any other failure (access, throttling) stops the job.
if answer=$(aws ecr describe-images --repository-name "${url#*/}" \
  --image-ids "imageTag=$IMAGE_TAG" --output text --query 'imageDetails[0].imageDigest' 2>&1); then
  pushed=true
elif [[ "$answer" == *ImageNotFoundException* ]]; then
  pushed=false
else
  echo "could not look for $url:$IMAGE_TAG: $answer" >&2
  exit 1
fi
echo "image $url:$IMAGE_TAG already pushed: $pushed"
{
  echo "url=$url"
  echo "pushed=$pushed"
} >> "$GITHUB_OUTPUT"
