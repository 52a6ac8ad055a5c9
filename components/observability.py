"""What operators watch: container logs in CloudWatch, alarms to the alert topic, a dashboard."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.irsa import IrsaRole, IrsaRoleArgs
from components.tagging import with_name

logger = logging.getLogger(__name__)

#: The EKS add-on that ships container logs (Fluent Bit) and Container Insights metrics.
OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"
AGENT_NAMESPACE = "amazon-cloudwatch"
AGENT_SERVICE_ACCOUNT = "cloudwatch-agent"
AGENT_POLICY = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"

#: The log groups the add-on writes to: container logs, node and kubelet logs, metrics.
AGENT_LOG_GROUPS = ("application", "dataplane", "host", "performance")

#: What the consumer's log lines look like (app/logs.py): an ERROR from one of its modules,
#: and the line printed for each fraud.
ERROR_PATTERN = '"ERROR app."'
FRAUD_PATTERN = '"FRAUD DETECTED"'


@dataclass(frozen=True)
class ObservabilityArgs:
    """What is watched and who is told.

    Attributes:
        cluster_name: the EKS cluster whose container logs are shipped.
        stream_name: the transactions stream.
        dead_letter_queue_name: the queue of set-aside records.
        alarm_topic_arn: where alarms (and their recovery) are published.
        metric_namespace: CloudWatch namespace of the metrics taken from the consumer's logs.
        oidc_provider_arn: ARN of the cluster's IAM OIDC provider, for the log agent's role.
        oidc_issuer: the cluster's OIDC issuer.
        max_lag_ms: iterator age above which the lag alarm fires, in milliseconds.
        log_retention_days: days the container logs are kept.
        region: the region the dashboard reads.
        wait_for: resources the log agent add-on waits for (the node groups it runs on: an
            add-on created before any node stays degraded).
        tags: tags of every resource.
    """

    cluster_name: str
    stream_name: str
    dead_letter_queue_name: str
    alarm_topic_arn: pulumi.Input[str]
    metric_namespace: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: str
    max_lag_ms: int = 60_000
    log_retention_days: int = 30
    wait_for: Sequence[pulumi.Resource] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class Observability(pulumi.ComponentResource):
    """Log shipping, log-based metrics, three alarms and one dashboard."""

    dashboard_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The agent would create these groups itself, and `pulumi destroy` would then leave
        # them behind; declared here, they have a retention and go with the stack.
        groups = {
            kind: aws.cloudwatch.LogGroup(
                f"{name}-{kind}-logs",
                name=f"/aws/containerinsights/{args.cluster_name}/{kind}",
                retention_in_days=args.log_retention_days,
                tags=with_name(args.tags, f"{name}-{kind}-logs"),
                opts=child,
            )
            for kind in AGENT_LOG_GROUPS
        }
        logs = groups["application"]

        agent = IrsaRole(
            f"{name}-agent-irsa",
            IrsaRoleArgs(
                namespace=AGENT_NAMESPACE,
                service_account=AGENT_SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                managed_policy_arns=(AGENT_POLICY,),
                tags=args.tags,
            ),
            opts=child,
        )
        aws.eks.Addon(
            f"{name}-addon",
            cluster_name=args.cluster_name,
            addon_name=OBSERVABILITY_ADDON,
            service_account_role_arn=agent.role_arn,
            tags=with_name(args.tags, f"{name}-addon"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*groups.values(), *args.wait_for]),
        )

        for metric, pattern in (("ConsumerErrors", ERROR_PATTERN), ("Frauds", FRAUD_PATTERN)):
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{metric.lower()}",
                log_group_name=logs.name,
                pattern=pattern,
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric, namespace=args.metric_namespace, value="1", default_value="0"
                ),
                opts=child,
            )

        actions = [args.alarm_topic_arn]
        # Lag is the symptom of every consumer failure: stopped, too slow, or throttled.
        aws.cloudwatch.MetricAlarm(
            f"{name}-lag",
            alarm_description=f"Records on {args.stream_name} wait over {args.max_lag_ms} ms",
            namespace="AWS/Kinesis",
            metric_name="GetRecords.IteratorAgeMilliseconds",
            dimensions={"StreamName": args.stream_name},
            statistic="Maximum",
            period=60,
            evaluation_periods=5,
            threshold=args.max_lag_ms,
            comparison_operator="GreaterThanThreshold",
            # No reads means no metric: that is a stopped consumer, not a healthy one.
            treat_missing_data="breaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(args.tags),
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-dead-letters",
            alarm_description=f"Records were set aside in {args.dead_letter_queue_name}",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": args.dead_letter_queue_name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(args.tags),
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-consumer-errors",
            alarm_description="The consumer logged errors (records it could not process)",
            namespace=args.metric_namespace,
            metric_name="ConsumerErrors",
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(args.tags),
            opts=child,
        )

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{args.cluster_name}-fds",
            dashboard_body=json.dumps(_dashboard(args)),
            opts=child,
        )

        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboardName": dashboard.dashboard_name})
        logger.debug("observability %s declared for %s", name, args.stream_name)


def _dashboard(args: ObservabilityArgs) -> dict[str, object]:
    """Four graphs: throughput, lag, frauds, and the stream's read and write latency."""
    stream = ("StreamName", args.stream_name)

    def graph(title: str, metrics: list[list[object]], x: int, y: int) -> dict[str, object]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": args.region,
                "view": "timeSeries",
                "period": 60,
                "metrics": metrics,
            },
        }

    return {
        "widgets": [
            graph(
                "Throughput (records per minute)",
                [
                    ["AWS/Kinesis", "IncomingRecords", *stream, {"stat": "Sum"}],
                    ["AWS/Kinesis", "GetRecords.Records", *stream, {"stat": "Sum"}],
                ],
                0,
                0,
            ),
            graph(
                "Lag (oldest record read, ms)",
                [
                    [
                        "AWS/Kinesis",
                        "GetRecords.IteratorAgeMilliseconds",
                        *stream,
                        {"stat": "Maximum"},
                    ]
                ],
                12,
                0,
            ),
            graph(
                "Frauds and consumer errors",
                [
                    [args.metric_namespace, "Frauds", {"stat": "Sum"}],
                    [args.metric_namespace, "ConsumerErrors", {"stat": "Sum"}],
                ],
                0,
                6,
            ),
            # The consumer's own put-to-decision latency is a Prometheus histogram on its
            # /metrics endpoint; CloudWatch sees the stream's side of it.
            graph(
                "Stream latency (ms)",
                [
                    ["AWS/Kinesis", "PutRecords.Latency", *stream, {"stat": "p99"}],
                    ["AWS/Kinesis", "GetRecords.Latency", *stream, {"stat": "p99"}],
                ],
                12,
                6,
            ),
        ]
    }
