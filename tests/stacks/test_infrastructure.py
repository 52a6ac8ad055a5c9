"""What each stack declares, read from the record of the real program run under mocks."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from mocked_cloud import ACCOUNT_ID, MOCK_ZONES, OIDC_ISSUER, OIDC_PROVIDER_ARN
from record import as_ints, of_type, one, policy_of

from app.consumer.effects import LEDGER_EXPIRY
from app.settings import Settings
from components.keda import KEDA_CHART_REPOSITORY
from stacks.settings import StackConfigError, parse_settings

RunProgram = Callable[[Mapping[str, str]], Any]
ConfigOf = Callable[..., dict[str, str]]

TAGS = {"project": "fds", "managed-by": "pulumi"}


def settings_of(stack: str, config_of: ConfigOf) -> Any:
    return parse_settings(config_of(stack), stack=stack)


def arn_of(resource: Any) -> str:
    return str(resource.outputs["arn"])


# Encryption and data protection


def test_stream_encrypted_with_its_own_key(stack: str, deployed: Any, config_of: ConfigOf) -> None:
    settings = settings_of(stack, config_of)
    stream = one(deployed, "aws:kinesis/stream:Stream")
    key = one(deployed, "aws:kms/key:Key", "-stream-key")

    assert stream.inputs["encryptionType"] == "KMS", f"{stack}: stream not KMS-encrypted"
    assert stream.inputs["kmsKeyId"] == arn_of(key), f"{stack}: stream not under the stream key"
    assert key.inputs["enableKeyRotation"] is True
    assert as_ints(stream.inputs["shardCount"]) == settings.shard_count
    assert as_ints(stream.inputs["retentionPeriod"]) == settings.retention_hours
    assert stream.inputs["streamModeDetails"] == {"streamMode": "PROVISIONED"}


def test_stream_on_demand_mode_drops_the_shard_count(
    run_program: RunProgram, config_of: ConfigOf
) -> None:
    run = run_program(config_of("dev", streamMode="on-demand"))

    stream = one(run, "aws:kinesis/stream:Stream")
    assert stream.inputs["streamModeDetails"] == {"streamMode": "ON_DEMAND"}
    assert "shardCount" not in stream.inputs, "on-demand streams take no shard count"


def test_tables_keyed_encrypted_and_protected_per_stack(stack: str, deployed: Any) -> None:
    protected = stack == "prod"
    keys = {"-blocklist": "account", "-checkpoints": "shard_id"}

    for suffix, key in keys.items():
        table = one(deployed, "aws:dynamodb/table:Table", suffix)
        assert table.inputs["hashKey"] == key, f"{table.name}: keyed by {table.inputs['hashKey']}"
        assert table.inputs["attributes"] == [{"name": key, "type": "S"}]
        assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.name}: no SSE"
        assert table.inputs["pointInTimeRecovery"] == {"enabled": protected}, table.name
        assert table.inputs["deletionProtectionEnabled"] is protected, table.name
        assert table.options.protect is protected, f"{table.name}: Pulumi protect is wrong"
    # The alerts ledger's items in the checkpoint table expire by themselves.
    checkpoints = one(deployed, "aws:dynamodb/table:Table", "-checkpoints")
    assert checkpoints.inputs["ttl"] == {"attributeName": LEDGER_EXPIRY, "enabled": True}
    blocklist = one(deployed, "aws:dynamodb/table:Table", "-blocklist")
    assert "ttl" not in blocklist.inputs, "a block must not expire by itself"


def test_decisions_bucket_encrypted_private_and_aged_out(stack: str, deployed: Any) -> None:
    bucket = one(deployed, "aws:s3/bucket:Bucket")
    key = one(deployed, "aws:kms/key:Key", "-storage-key")
    encryption = one(
        deployed,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    access = one(deployed, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    lifecycle = one(deployed, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")

    assert bucket.inputs["bucket"] == f"fds-{stack}-decisions-{ACCOUNT_ID}"
    assert bucket.inputs["forceDestroy"] is (stack == "dev")
    assert bucket.options.protect is (stack == "prod")
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": arn_of(key)}
    assert all(
        access.inputs[flag] is True
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ), "the decisions bucket could be made public"
    aging = lifecycle.inputs["rules"][0]
    assert aging["filter"] == {"prefix": "decisions/"} and aging["status"] == "Enabled"
    assert as_ints(aging["expiration"]["days"]) == {"dev": 30, "prod": 400}[stack]


def test_topic_and_queues_encrypted_and_subscribed(
    stack: str, deployed: Any, config_of: ConfigOf
) -> None:
    key_arn = arn_of(one(deployed, "aws:kms/key:Key", "-alerts-key"))
    topic = one(deployed, "aws:sns/topic:Topic")
    subscriptions = of_type(deployed, "aws:sns/topicSubscription:TopicSubscription")
    inbox = one(deployed, "aws:sqs/queue:Queue", "-inbox")

    assert topic.inputs["kmsMasterKeyId"] == key_arn, "alert topic not under the alerts key"
    for queue in of_type(deployed, "aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == key_arn, f"{queue.name}: not encrypted"
    emails = sorted(s.inputs["endpoint"] for s in subscriptions if s.inputs["protocol"] == "email")
    assert emails == sorted(settings_of(stack, config_of).alert_emails)
    (to_queue,) = [s for s in subscriptions if s.inputs["protocol"] == "sqs"]
    assert to_queue.inputs["endpoint"] == arn_of(inbox)
    assert to_queue.inputs["rawMessageDelivery"] is True
    key_policy = policy_of(one(deployed, "aws:kms/key:Key", "-alerts-key"))
    services = key_policy["Statement"][1]["Principal"]["Service"]
    assert services == ["cloudwatch.amazonaws.com", "sns.amazonaws.com"], (
        "SNS (to the encrypted inbox) and CloudWatch (alarms) must be able to use the key"
    )


# Network and cluster


def test_network_spans_the_configured_zones_with_nat(
    stack: str, deployed: Any, config_of: ConfigOf
) -> None:
    settings = settings_of(stack, config_of)
    zones = sorted(MOCK_ZONES)[: settings.availability_zone_count]
    subnets = of_type(deployed, "aws:ec2/subnet:Subnet")
    nats = of_type(deployed, "aws:ec2/natGateway:NatGateway")
    private_routes = [
        r for r in of_type(deployed, "aws:ec2/routeTable:RouteTable") if "-private-" in r.name
    ]

    assert sorted({s.inputs["availabilityZone"] for s in subnets}) == zones
    assert len(subnets) == 2 * len(zones), "one public and one private subnet per zone"
    assert len(nats) == (len(zones) if settings.nat_per_zone else 1), f"{stack}: NAT count"
    nat_ids = {f"{nat.name}-id" for nat in nats}
    for table in private_routes:
        (route,) = table.inputs["routes"]
        assert route["natGatewayId"] in nat_ids, f"{table.name}: private route not via NAT"
    for subnet in subnets:
        tags = subnet.inputs["tags"]
        role = (
            "kubernetes.io/role/elb"
            if "-public-" in subnet.name
            else ("kubernetes.io/role/internal-elb")
        )
        assert tags.get(role) == "1", f"{subnet.name}: missing {role}"
        assert tags.get(f"kubernetes.io/cluster/fds-{stack}") == "shared", subnet.name


def test_stack_files_give_prod_three_zones_and_a_nat_each(config_of: ConfigOf) -> None:
    dev, prod = settings_of("dev", config_of), settings_of("prod", config_of)

    assert (dev.availability_zone_count, dev.nat_per_zone) == (2, False)
    assert (prod.availability_zone_count, prod.nat_per_zone) == (3, True)
    assert (dev.protect_data, prod.protect_data) == (False, True)
    assert (dev.read_mode, prod.read_mode) == ("polling", "fan-out")


def test_more_zones_than_the_region_has_is_a_config_error(
    run_program: RunProgram, config_of: ConfigOf
) -> None:
    with pytest.raises(StackConfigError) as caught:
        run_program(config_of("dev", availabilityZoneCount=len(MOCK_ZONES) + 1))

    assert caught.value.keys == ("fds:availabilityZoneCount",)
    assert f"has {len(MOCK_ZONES)} available" in str(caught.value)


def test_cluster_has_oidc_and_no_default_node_group(stack: str, deployed: Any) -> None:
    cluster = one(deployed, "eks:index:Cluster")

    assert cluster.inputs["skipDefaultNodeGroup"] is True
    assert cluster.inputs["createOidcProvider"] is True
    assert cluster.inputs["authenticationMode"] == "API"
    assert cluster.inputs["name"] == f"fds-{stack}"
    assert deployed.exports["clusterName"] == f"fds-{stack}"


def test_spot_node_group_has_several_types_and_keeps_autoscaled_size(
    stack: str, deployed: Any, config_of: ConfigOf
) -> None:
    settings = settings_of(stack, config_of)
    cluster = one(deployed, "eks:index:Cluster")
    spot = one(deployed, "aws:eks/nodeGroup:NodeGroup", "-spot")

    assert spot.inputs["capacityType"] == "SPOT"
    assert spot.inputs["instanceTypes"] == settings.spot_instance_types
    assert len(spot.inputs["instanceTypes"]) >= 2, "one instance type is a Spot anti-pattern"
    assert as_ints(spot.inputs["scalingConfig"]) == {
        "minSize": settings.node_min_size,
        "desiredSize": settings.node_desired_size,
        "maxSize": settings.node_max_size,
    }
    assert "scalingConfig.desiredSize" in spot.options.ignore_changes, (
        "the next `pulumi up` would undo the autoscaler's desired size"
    )
    # The group names the cluster as a plain string and waits on it explicitly.
    assert spot.inputs["clusterName"] == cluster.inputs["name"]
    assert cluster.urn in spot.options.dependencies, "the node group does not wait for EKS"


def test_on_demand_system_nodes_only_in_prod(stack: str, deployed: Any) -> None:
    groups = {g.name: g for g in of_type(deployed, "aws:eks/nodeGroup:NodeGroup")}
    release = one(deployed, "kubernetes:helm.sh/v3:Release")

    if stack == "dev":
        assert list(groups) == ["fds-dev-cluster-spot"]
        assert release.inputs["values"]["nodeSelector"] == {}
        return
    system = groups["fds-prod-cluster-system"]
    assert system.inputs["capacityType"] == "ON_DEMAND"
    assert system.inputs["labels"] == {"fds/capacity": "on-demand"}
    assert release.inputs["values"]["nodeSelector"] == {"fds/capacity": "on-demand"}, (
        "the KEDA operator should run on the on-demand nodes"
    )
    coredns = one(deployed, "eks:index:Cluster").inputs["corednsAddonOptions"]
    assert coredns["configurationValues"] == {"nodeSelector": {"fds/capacity": "on-demand"}}


# Identity


def web_identity_roles(run: Any) -> dict[str, dict[str, Any]]:
    """IRSA trust statements by the service account their `sub` condition names."""
    found = {}
    for role in of_type(run, "aws:iam/role:Role"):
        policy = policy_of(role, "assumeRolePolicy")
        (statement,) = policy["Statement"]
        if statement["Action"] == "sts:AssumeRoleWithWebIdentity":
            sub = statement["Condition"]["StringEquals"][f"{OIDC_ISSUER}:sub"]
            found[sub] = {"role": role, "statement": statement}
    return found


def test_irsa_trust_checks_sub_and_aud_of_one_service_account(deployed: Any) -> None:
    roles = web_identity_roles(deployed)

    assert sorted(roles) == [
        "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
        "system:serviceaccount:fds:fds-consumer",
        "system:serviceaccount:keda:keda-operator",
    ]
    for sub, found in roles.items():
        statement = found["statement"]
        assert statement["Principal"] == {"Federated": OIDC_PROVIDER_ARN}, sub
        assert statement["Condition"] == {
            "StringEquals": {f"{OIDC_ISSUER}:sub": sub, f"{OIDC_ISSUER}:aud": "sts.amazonaws.com"}
        }, f"{sub}: trust must check exactly sub and aud"


def consumer_policy_of(run: Any) -> dict[str, Any]:
    return policy_of(one(run, "aws:iam/rolePolicy:RolePolicy", "-consumer-irsa-policy"))


def test_consumer_policy_is_least_privilege_on_exact_arns(stack: str, deployed: Any) -> None:
    statements = {s["Sid"]: s for s in consumer_policy_of(deployed)["Statement"]}
    tables = sorted(arn_of(t) for t in of_type(deployed, "aws:dynamodb/table:Table"))
    keys = sorted(arn_of(k) for k in of_type(deployed, "aws:kms/key:Key"))
    expected = {
        "ReadStream": (
            [
                "kinesis:DescribeStreamSummary",
                "kinesis:ListShards",
                "kinesis:GetShardIterator",
                "kinesis:GetRecords",
            ],
            [arn_of(one(deployed, "aws:kinesis/stream:Stream"))],
        ),
        "BlockListAndCheckpoints": (
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Scan",
                "dynamodb:BatchWriteItem",
            ],
            tables,
        ),
        "WriteDecisions": (
            ["s3:PutObject"],
            [f"{arn_of(one(deployed, 'aws:s3/bucket:Bucket'))}/decisions/*"],
        ),
        "ListDecisions": (
            ["s3:ListBucket"],
            [arn_of(one(deployed, "aws:s3/bucket:Bucket"))],
        ),
        "PublishAlerts": (["sns:Publish"], [arn_of(one(deployed, "aws:sns/topic:Topic"))]),
        "SetAsideBadRecords": (
            ["sqs:SendMessage", "sqs:GetQueueUrl"],
            [arn_of(one(deployed, "aws:sqs/queue:Queue", "-dead-letters"))],
        ),
        "UseStackKeys": (["kms:Decrypt", "kms:GenerateDataKey"], keys),
    }
    if stack == "prod":
        consumer = one(deployed, "aws:kinesis/streamConsumer:StreamConsumer")
        expected["ReadByFanOut"] = (
            ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"],
            [arn_of(consumer)],
        )

    assert sorted(statements) == sorted(expected), f"{stack}: unexpected statements"
    for sid, (actions, resources) in expected.items():
        statement = statements[sid]
        conditions = (
            {"StringLike": {"s3:prefix": ["decisions/*"]}} if sid == "ListDecisions" else None
        )
        assert statement["Effect"] == "Allow" and statement.get("Condition") == conditions, sid
        assert statement["Action"] == actions, f"{sid}: actions {statement['Action']}"
        assert sorted(statement["Resource"]) == sorted(resources), f"{sid}: resources"
        for value in [*statement["Action"], *statement["Resource"]]:
            assert value != "*" and not value.endswith(":*"), f"{sid}: wildcard {value}"
    assert len(keys) == 3, "stream, storage and alerts keys"


def test_keda_role_reads_shards_and_lag_only(deployed: Any) -> None:
    policy = policy_of(one(deployed, "aws:iam/rolePolicy:RolePolicy", "-operator-irsa-policy"))
    stream_arn = arn_of(one(deployed, "aws:kinesis/stream:Stream"))

    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        (["kinesis:DescribeStreamSummary"], [stream_arn]),
        # GetMetricData takes no resource-level permission: `*` is the only form AWS accepts.
        (["cloudwatch:GetMetricData"], ["*"]),
    ]


# Autoscaling and workload


def test_keda_chart_pinned_and_bound_to_its_irsa_role(deployed: Any) -> None:
    release = one(deployed, "kubernetes:helm.sh/v3:Release")
    keda_role = web_identity_roles(deployed)["system:serviceaccount:keda:keda-operator"]["role"]

    assert release.inputs["chart"] == "keda"
    assert release.inputs["version"] == "2.20.2"
    assert release.inputs["repositoryOpts"] == {"repo": KEDA_CHART_REPOSITORY}
    assert release.inputs["namespace"] == "keda"
    assert release.inputs["values"]["podIdentity"] == {
        "aws": {"irsa": {"enabled": True, "roleArn": arn_of(keda_role)}}
    }
    assert deployed.exports["kedaRoleArn"] == arn_of(keda_role)


def test_scaled_object_scales_on_lag_and_shards_within_bounds(
    stack: str, deployed: Any, config_of: ConfigOf
) -> None:
    settings = settings_of(stack, config_of)
    scaled = as_ints(one(deployed, "kubernetes:keda.sh/v1alpha1:ScaledObject").inputs)
    auth = one(deployed, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication").inputs
    release = one(deployed, "kubernetes:helm.sh/v3:Release")
    spec = scaled["spec"]
    triggers = {t["type"]: t for t in spec["triggers"]}

    assert spec["minReplicaCount"] == 1, "lag is only published while someone reads"
    assert spec["maxReplicaCount"] == settings.shard_count, "more replicas than shards idle"
    assert spec["scaleTargetRef"]["name"] == "fds-consumer"
    lag = triggers["aws-cloudwatch"]["metadata"]
    assert {k: lag[k] for k in ("namespace", "metricName", "dimensionName", "metricStat")} == {
        "namespace": "AWS/Kinesis",
        "metricName": "GetRecords.IteratorAgeMilliseconds",
        "dimensionName": "StreamName",
        "metricStat": "Maximum",
    }
    assert lag["dimensionValue"] == f"fds-{stack}-transactions"
    assert triggers["aws-kinesis-stream"]["metadata"]["streamName"] == f"fds-{stack}-transactions"
    for trigger in spec["triggers"]:
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        assert trigger["metadata"]["awsRegion"] == settings.region
    assert auth["spec"]["podIdentity"]["provider"] == "aws"
    scaled_record = one(deployed, "kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert release.urn in scaled_record.options.dependencies, "ScaledObject before KEDA's CRDs"


def deployment_of(run: Any) -> dict[str, Any]:
    return dict(as_ints(one(run, "kubernetes:apps/v1:Deployment").inputs))


def test_deployment_is_hardened_probed_and_drains_gracefully(deployed: Any) -> None:
    pod = deployment_of(deployed)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    port = container["ports"][0]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert port["containerPort"] == Settings().metrics_port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    # The consumer waits up to 30 s for alerts and 5 s for its readers after SIGTERM.
    assert 45 <= pod["terminationGracePeriodSeconds"] <= 120, "grace must fit a Spot notice"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert container["args"] == ["consume"], "the image's entry point is `fds`"
    assert "replicas" not in deployment_of(deployed)["spec"], "KEDA owns the replica count"


def test_deployment_runs_the_stack_image_as_its_irsa_service_account(
    stack: str, deployed: Any
) -> None:
    pod = deployment_of(deployed)["spec"]["template"]["spec"]
    account = one(deployed, "kubernetes:core/v1:ServiceAccount").inputs
    consumer_role = web_identity_roles(deployed)["system:serviceaccount:fds:fds-consumer"]["role"]
    repository = one(deployed, "aws:ecr/repository:Repository")

    assert pod["serviceAccountName"] == account["metadata"]["name"] == "fds-consumer"
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": arn_of(consumer_role)
    }
    assert pod["containers"][0]["image"] == f"{repository.outputs['repositoryUrl']}:0.1.0"
    assert pod["nodeSelector"] == {"fds/capacity": "spot"}


def test_deployment_env_vars_are_all_settings_fields(deployed: Any) -> None:
    env = deployment_of(deployed)["spec"]["template"]["spec"]["containers"][0]["env"]
    prefix = Settings.model_config["env_prefix"]

    for variable in env:
        name = variable["name"]
        assert name.startswith(prefix), f"{name} is not an FDS setting"
        field = name.removeprefix(prefix).lower()
        assert field in Settings.model_fields, f"{name} sets no field of app.settings.Settings"
        assert isinstance(variable["value"], str) and variable["value"], f"{name} is empty"


def test_app_reads_back_the_names_the_stack_creates(
    stack: str, deployed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = deployment_of(deployed)["spec"]["template"]["spec"]["containers"][0]["env"]
    for name in [n for n in __import__("os").environ if n.startswith("FDS_")]:
        monkeypatch.delenv(name)
    for variable in env:
        monkeypatch.setenv(variable["name"], variable["value"])

    settings = Settings()

    created = {
        "stream": one(deployed, "aws:kinesis/stream:Stream").inputs["name"],
        "blocklist_table": one(deployed, "aws:dynamodb/table:Table", "-blocklist").inputs["name"],
        "checkpoint_table": one(deployed, "aws:dynamodb/table:Table", "-checkpoints").inputs[
            "name"
        ],
        "decisions_bucket": one(deployed, "aws:s3/bucket:Bucket").inputs["bucket"],
        "alerts_topic": one(deployed, "aws:sns/topic:Topic").inputs["name"],
        "alerts_inbox_queue": one(deployed, "aws:sqs/queue:Queue", "-inbox").inputs["name"],
        "dead_letter_queue": one(deployed, "aws:sqs/queue:Queue", "-dead-letters").inputs["name"],
    }
    assert settings.names.model_dump() == created, f"{stack}: app and stack disagree on names"
    assert settings.environment == stack and settings.resource_suffix == ACCOUNT_ID
    assert deployed.exports["names"] == created


def test_read_mode_fan_out_registers_the_consumer_the_app_expects(
    stack: str, deployed: Any
) -> None:
    env = {
        v["name"]: v["value"]
        for v in deployment_of(deployed)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    consumers = of_type(deployed, "aws:kinesis/streamConsumer:StreamConsumer")

    if stack == "dev":
        assert env["FDS_READ_MODE"] == "polling" and consumers == []
        return
    assert env["FDS_READ_MODE"] == "fan-out"
    (consumer,) = consumers
    assert consumer.inputs["name"] == env["FDS_STREAM_CONSUMER_NAME"] == "fds-consumer"
    assert consumer.inputs["streamArn"] == arn_of(one(deployed, "aws:kinesis/stream:Stream"))


def test_disruption_budget_lets_drains_proceed(deployed: Any) -> None:
    budget = as_ints(one(deployed, "kubernetes:policy/v1:PodDisruptionBudget").inputs)

    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "fds-consumer"}


# Registry and observability


def test_registry_scans_on_push_and_ages_images_out(stack: str, deployed: Any) -> None:
    repository = one(deployed, "aws:ecr/repository:Repository")
    lifecycle = policy_of(one(deployed, "aws:ecr/lifecyclePolicy:LifecyclePolicy"))

    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["forceDelete"] is (stack == "dev")
    assert [rule["action"]["type"] for rule in lifecycle["rules"]] == ["expire", "expire"]


def test_alarms_go_to_the_alert_topic(stack: str, deployed: Any) -> None:
    topic_arn = arn_of(one(deployed, "aws:sns/topic:Topic"))
    alarms = {
        a.name.rsplit("-observability-", 1)[1]: a.inputs
        for a in of_type(deployed, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }

    assert sorted(alarms) == ["consumer-errors", "dead-letters", "lag"]
    for name, alarm in alarms.items():
        assert alarm["alarmActions"] == [topic_arn], f"{name}: not routed to the alert topic"
    assert alarms["lag"]["metricName"] == "GetRecords.IteratorAgeMilliseconds"
    assert alarms["lag"]["dimensions"] == {"StreamName": f"fds-{stack}-transactions"}
    assert alarms["dead-letters"]["dimensions"] == {"QueueName": f"fds-{stack}-dead-letters"}
    body = json.loads(one(deployed, "aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert any("Throughput" in t for t in titles) and any("Lag" in t for t in titles)
    assert any("Frauds" in t for t in titles) and any("latency" in t for t in titles)


# Every resource


def resource_class(type_token: str) -> type | None:
    """The SDK class of an AWS or EKS type token, such as aws:ec2/vpc:Vpc."""
    package, module, name = type_token.split(":")
    python_package = {"aws": "pulumi_aws", "eks": "pulumi_eks"}.get(package)
    if python_package is None:
        return None
    path = (
        python_package
        if module.startswith("index")
        else (f"{python_package}.{module.split('/')[0]}")
    )
    return getattr(importlib.import_module(path), name, None)


def test_every_taggable_resource_is_tagged(stack: str, deployed: Any) -> None:
    checked = 0
    for resource in deployed.resources:
        cls = resource_class(resource.type)
        if cls is None:
            continue
        if "tags" not in inspect.signature(cls._internal_init).parameters:  # type: ignore[attr-defined]
            continue
        tags = resource.inputs.get("tags") or {}
        assert TAGS.items() <= tags.items(), f"{resource.type} {resource.name}: tags {tags}"
        assert tags.get("environment") == stack, f"{resource.name}: wrong environment tag"
        checked += 1
    assert checked >= 30, f"only {checked} taggable resources found: the check found nothing"


def test_every_cloud_resource_belongs_to_a_component(deployed: Any) -> None:
    for resource in deployed.resources:
        if resource.type.startswith(("fds:", "pulumi:providers:")):
            continue
        chain = resource.urn.split("::")[2].split("$")
        assert len(chain) >= 2, f"{resource.type} {resource.name}: no parent in {resource.urn!r}"
        parent_type = chain[-2]
        assert parent_type.startswith("fds:"), f"{resource.name} is a child of {parent_type}"


def test_outputs_a_user_needs_are_exported(stack: str, deployed: Any) -> None:
    needed = [
        "clusterName",
        "kubeconfig",
        "streamName",
        "blocklistTableName",
        "checkpointTableName",
        "decisionsBucketName",
        "alertsTopicName",
        "deadLetterQueueName",
        "consumerRoleArn",
        "kedaRoleArn",
        "repositoryUrl",
        "consumerImage",
        "dashboardName",
    ]

    for name in needed:
        value = deployed.exports.get(name)
        assert value not in (None, "") and "None" not in str(value), f"{stack}: {name}={value!r}"


def test_log_groups_the_agent_writes_are_declared_so_destroy_removes_them(
    stack: str, deployed: Any
) -> None:
    groups = sorted(g.inputs["name"] for g in of_type(deployed, "aws:cloudwatch/logGroup:LogGroup"))
    addon = one(deployed, "aws:eks/addon:Addon")

    assert groups == [
        f"/aws/containerinsights/fds-{stack}/{kind}"
        for kind in ("application", "dataplane", "host", "performance")
    ]
    assert addon.inputs["addonName"] == "amazon-cloudwatch-observability"
    spot = one(deployed, "aws:eks/nodeGroup:NodeGroup", "-spot")
    assert spot.urn in addon.options.dependencies, "the add-on needs nodes to become active"
