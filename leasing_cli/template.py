"""Read `template.yaml` into a typed model the local runtime can run, and create its tables.

CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, ...) are loaded as their long forms, and the
intrinsic functions the runtime needs are resolved locally: parameters take the values `sam local`
would give them (the `parameter_overrides` of `samconfig.toml`'s `default` environment for the
local command, then the template's defaults), a table is named by its logical id, an event bus by
its resolved `Name`, the region is `us-east-1`.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "leasing-local"
SAMCONFIG = "samconfig.toml"
LOCAL_COMMAND = "local_start_api"  # `leasing serve` is the local runtime of `sam local start-api`

PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
    "AWS::NoValue": "",
}

_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
)
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template cannot be read or uses something the local runtime does not support."""


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that also reads CloudFormation short tags as their long forms."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node for tag {node.tag}")  # pragma: no cover


def _long_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _node_value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):  # `!GetAtt Resource.Attribute` (the attribute may itself contain dots)
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _get_att)
for _name in _FN_TAGS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None


@dataclass(frozen=True)
class ApiRoute:
    """One `Api` event of a function: `method` upper case, `path` with `{param}` placeholders."""

    method: str
    path: str
    event_name: str
    function_id: str
    uses_authorizer: bool = True


@dataclass(frozen=True)
class StreamSource:
    """A `DynamoDB` event of a function: the table's stream → the function, with Lambda's settings.

    `-1` means "no limit", as in Lambda (retry until the record expires).
    """

    function_id: str
    event_name: str
    table_id: str  # logical id (locally also the table name)
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1
    report_batch_item_failures: bool = False
    filter_patterns: tuple[dict[str, Any], ...] = ()
    on_failure_destination: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class EventRule:
    """An `EventBridgeRule` event of a function: a rule on a bus with the function as its target."""

    function_id: str
    event_name: str
    bus_name: str
    pattern: dict[str, Any]
    maximum_retry_attempts: int = 185  # EventBridge's defaults
    maximum_event_age_seconds: int = 86400
    dead_letter_queue: str | None = None
    enabled: bool = True

    @property
    def rule_name(self) -> str:
        return f"{self.function_id}-{self.event_name}"


@dataclass(frozen=True)
class ScheduleSource:
    """A `Schedule` event of a function: `rate(...)` or `cron(...)`, with its retry policy."""

    function_id: str
    event_name: str
    expression: str
    maximum_retry_attempts: int = 185
    maximum_event_age_seconds: int = 86400
    dead_letter_queue: str | None = None
    enabled: bool = True

    @property
    def rule_name(self) -> str:
        return f"{self.function_id}-{self.event_name}"

    @property
    def rule_arn(self) -> str:
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{self.rule_name}"


#: Lambda's asynchronous invocation defaults (no `EventInvokeConfig`): 2 retries, 6 hours.
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_ASYNC_EVENT_AGE_SECONDS = 21600


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """How Lambda handles a function's asynchronous invocations (rule and schedule targets).

    A function error is retried `maximum_retry_attempts` times (0-2), and an event older than
    `maximum_event_age_seconds` (60-21600) is not attempted again; then the invocation record goes to
    `on_failure_destination` (a queue's logical id), else the event itself to `dead_letter_queue`
    (the function's `DeadLetterQueue`), else it is dropped.
    """

    maximum_retry_attempts: int = DEFAULT_ASYNC_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_ASYNC_EVENT_AGE_SECONDS
    on_failure_destination: str | None = None
    on_failure_type: str | None = None
    dead_letter_queue: str | None = None


@dataclass(frozen=True)
class Function:
    """An `AWS::Serverless::Function` with Globals applied and its environment resolved."""

    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    routes: tuple[ApiRoute, ...]
    events: dict[str, dict[str, Any]]  # every event source as written (type and properties)
    stream_sources: tuple[StreamSource, ...] = ()
    event_rules: tuple[EventRule, ...] = ()
    schedules: tuple[ScheduleSource, ...] = ()
    async_config: AsyncInvokeConfig = field(default_factory=AsyncInvokeConfig)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.logical_id}"


@dataclass(frozen=True)
class GatewayResponse:
    """A `GatewayResponses` entry: status, header mappings and body templates, as written."""

    status_code: int | None
    headers: dict[str, str]
    templates: dict[str, str]


@dataclass(frozen=True)
class Api:
    """The `AWS::Serverless::Api`: stage, default authorizer and gateway responses."""

    logical_id: str
    stage_name: str
    authorizer_function_id: str | None
    identity_headers: tuple[str, ...]
    gateway_responses: dict[str, GatewayResponse]
    #: `ReauthorizeEvery` of the default authorizer (API Gateway's default: 300 s; 0 = no cache).
    authorizer_ttl_seconds: int = 300


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: dict[str, Parameter]
    resources: dict[str, dict[str, Any]]
    conditions: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    api: Api | None = None

    @property
    def routes(self) -> list[ApiRoute]:
        return [route for function in self.functions.values() for route in function.routes]

    @property
    def stream_sources(self) -> list[StreamSource]:
        return [source for function in self.functions.values() for source in function.stream_sources]

    @property
    def event_rules(self) -> list[EventRule]:
        return [rule for function in self.functions.values() for rule in function.event_rules]

    @property
    def schedules(self) -> list[ScheduleSource]:
        return [schedule for function in self.functions.values() for schedule in function.schedules]

    @property
    def queue_ids(self) -> list[str]:
        """Logical ids of every `AWS::SQS::Queue` of the template."""
        return [
            logical_id
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == "AWS::SQS::Queue"
        ]

    def queue_arn(self, logical_id: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{logical_id}"

    def event_bus_names(self) -> set[str]:
        """`default` and the resolved `Name` of every `AWS::Events::EventBus` of the template."""
        names = {"default"}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == "AWS::Events::EventBus":
                names.add(self.resolve_string({"Ref": logical_id}))
        return names

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions in `value` the way the local runtime deploys it."""
        return _Resolver(self).resolve(value)

    def resolve_string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, str | int | float):
            return str(resolved)
        raise TemplateError(f"expected a string, got {resolved!r}")


class _Resolver:
    def __init__(self, template: Template) -> None:
        self.template = template

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self.function(key, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def ref(self, name: str) -> Any:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        parameter = self.template.parameters.get(name)
        if parameter is not None:
            if parameter.default is None:
                raise TemplateError(f"parameter {name} has no Default to run with locally")
            return parameter.default
        resource = self.template.resources.get(name)
        if resource is None:
            raise TemplateError(f"Ref to unknown name {name!r}")
        if resource.get("Type") == "AWS::Events::EventBus":
            return self.resolve(resource.get("Properties", {}).get("Name", name))
        return name  # tables, functions, queues, ...: the logical id is the local physical name

    def get_att(self, resource_name: str, attribute: str) -> str:
        resource = self.template.resources.get(resource_name)
        if resource is None:
            raise TemplateError(f"Fn::GetAtt of unknown resource {resource_name!r}")
        kind = resource.get("Type", "")
        physical = self.ref(resource_name)
        if kind == "AWS::DynamoDB::Table":
            table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{physical}"
            return f"{table_arn}/stream/local" if attribute == "StreamArn" else table_arn
        if kind == "AWS::Events::EventBus":
            return (
                physical
                if attribute == "Name"
                else f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{physical}"
            )
        if kind == "AWS::Serverless::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{physical}"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return str(physical)
        return f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{physical}/{attribute}"

    def sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {key: self.resolve(item) for key, item in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # `${!Literal}` is the escape for a literal `${Literal}`
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template.resources:
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return _SUB_PLACEHOLDER.sub(replace, str(text))

    def condition(self, name: str) -> bool:
        if name not in self.template.conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(self.template.conditions[name]))

    def function(self, key: str, argument: Any) -> Any:
        if key == "Fn::GetAtt":
            resource, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.get_att(resource, attribute)
        if key == "Fn::Sub":
            return self.sub(argument)
        if key == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = self.resolve(argument)
            return str(text).split(str(delimiter))
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return str(left) == str(right)
        if key == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        raise TemplateError(f"{key} is not supported by the local runtime")


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """`Key=Value Key2="a b"` (SAM CLI's `parameter_overrides` syntax) → a mapping."""
    overrides: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise TemplateError(f"parameter overrides {text!r}: {error}") from None
    for word in words:
        name, separator, value = word.partition("=")
        if not separator or not name:
            raise TemplateError(f"parameter override {word!r} is not Key=Value")
        if name.startswith("ParameterKey="):  # SAM's long form is not supported: say so
            raise TemplateError("use Key=Value parameter overrides")
        overrides[name] = value
    return overrides


def samconfig_overrides(
    template_path: Path, command: str = LOCAL_COMMAND, config_env: str = "default"
) -> dict[str, str]:
    """The `parameter_overrides` SAM CLI would apply to `command` from the `samconfig.toml` next to
    the template: the command's own section, else the environment's `global` section."""
    config_file = template_path.parent / SAMCONFIG
    if not config_file.is_file():
        return {}
    try:
        config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(f"cannot read {config_file}: {error}") from error
    environment = config.get(config_env) or {}
    for section in (command, "global"):
        value = ((environment.get(section) or {}).get("parameters") or {}).get("parameter_overrides")
        if value is not None:
            return parse_parameter_overrides(value if isinstance(value, str) else " ".join(value))
    return {}


def _parameters(document: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Parameter]:
    parameters: dict[str, Parameter] = {}
    specs = document.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        raise TemplateError(f"parameter overrides name no parameter of the template: {', '.join(unknown)}")
    for name, spec in specs.items():
        default = overrides.get(name, spec.get("Default"))
        allowed = spec.get("AllowedValues")
        if name in overrides and allowed is not None and overrides[name] not in [str(v) for v in allowed]:
            raise TemplateError(f"parameter {name}={overrides[name]!r} is not one of {allowed}")
        parameters[name] = Parameter(
            name=name,
            type=str(spec.get("Type", "String")),
            default=None if default is None else str(default),
        )
    return parameters


def _routes(function_id: str, events: Mapping[str, Any], default_authorizer: bool) -> tuple[ApiRoute, ...]:
    routes: list[ApiRoute] = []
    for event_name, event in events.items():
        if event.get("Type") != "Api":
            continue
        properties = event.get("Properties") or {}
        authorizer = (properties.get("Auth") or {}).get("Authorizer")
        routes.append(
            ApiRoute(
                method=str(properties["Method"]).upper(),
                path=str(properties["Path"]),
                event_name=event_name,
                function_id=function_id,
                uses_authorizer=default_authorizer and authorizer != "NONE",
            )
        )
    return tuple(routes)


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _resource_name(template: Template, value: Any) -> str | None:
    """The logical id behind a `!GetAtt X.Arn` / `!Ref X`, else the resolved value as written."""
    if value is None:
        return None
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt":
            return str(argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0])
        if key == "Ref":
            return str(argument)
    return template.resolve_string(value)


def _dead_letter_queue(template: Template, config: Any, rule_logical_id: str) -> str | None:
    """The queue of a rule's `DeadLetterConfig`: its `Arn`'s resource, or the queue SAM creates for
    `Type: SQS` (`QueueLogicalId`, default `<rule logical id>Queue`)."""
    if not isinstance(config, dict):
        return None
    if config.get("Arn") is not None:
        return _resource_name(template, config.get("Arn"))
    if config.get("Type"):
        return str(config.get("QueueLogicalId") or f"{rule_logical_id}Queue")
    return None


def _async_config(template: Template, function_id: str, properties: Mapping[str, Any]) -> AsyncInvokeConfig:
    """`EventInvokeConfig` (and `DeadLetterQueue`) of a function, Lambda's defaults where absent."""
    raw = properties.get("EventInvokeConfig") or {}
    config = template.resolve(raw)
    on_failure = (
        ((raw.get("DestinationConfig") or {}).get("OnFailure") or {}) if isinstance(raw, dict) else {}
    )
    destination = _resource_name(template, on_failure.get("Destination"))
    destination_type = template.resolve(on_failure.get("Type")) if on_failure else None
    if destination_type is not None and str(destination_type) != "SQS":
        raise TemplateError(
            f"{function_id}: EventInvokeConfig OnFailure Type {destination_type} is not run locally "
            "(SQS only)"
        )
    if destination is not None and destination not in template.resources:
        raise TemplateError(f"{function_id}: EventInvokeConfig OnFailure {destination!r} is not a resource")
    retries = _int(config.get("MaximumRetryAttempts"), DEFAULT_ASYNC_RETRY_ATTEMPTS)
    age = _int(config.get("MaximumEventAgeInSeconds"), DEFAULT_ASYNC_EVENT_AGE_SECONDS)
    if not 0 <= retries <= 2 or not 60 <= age <= 21600:
        raise TemplateError(
            f"{function_id}: EventInvokeConfig needs MaximumRetryAttempts 0-2 and MaximumEventAgeInSeconds "
            f"60-21600, got {retries} and {age}"
        )
    dead_letter = properties.get("DeadLetterQueue") or {}
    dead_letter_queue = (
        _resource_name(template, dead_letter.get("TargetArn")) if isinstance(dead_letter, dict) else None
    )
    return AsyncInvokeConfig(
        maximum_retry_attempts=retries,
        maximum_event_age_seconds=age,
        on_failure_destination=destination,
        on_failure_type=None if destination_type is None else str(destination_type),
        dead_letter_queue=dead_letter_queue,
    )


def _stream_table(template: Template, function_id: str, event_name: str, stream: Any) -> str:
    arn = template.resolve_string(stream)
    match = re.fullmatch(r"arn:aws:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/.+", arn)
    table_id = match.group(1) if match else None
    if table_id is None or table_id not in template.tables:
        raise TemplateError(f"{function_id}.{event_name}: Stream {arn!r} is not a table of the template")
    if not (template.tables[table_id].get("StreamSpecification") or {}).get("StreamViewType"):
        raise TemplateError(f"{function_id}.{event_name}: table {table_id} has no StreamSpecification")
    return table_id


def _pattern(function_id: str, event_name: str, raw: Any) -> dict[str, Any]:
    from leasing_cli.event_patterns import EventPatternError, validate_pattern

    try:
        return validate_pattern(raw)
    except EventPatternError as error:
        raise TemplateError(f"{function_id}.{event_name}: {error}") from None


def _event_sources(
    template: Template, function_id: str, events: Mapping[str, Any]
) -> tuple[tuple[StreamSource, ...], tuple[EventRule, ...], tuple[ScheduleSource, ...]]:
    streams: list[StreamSource] = []
    rules: list[EventRule] = []
    schedules: list[ScheduleSource] = []
    for event_name, event in events.items():
        kind = event.get("Type")
        properties = template.resolve(event.get("Properties") or {})
        raw_properties = event.get("Properties") or {}
        if kind == "DynamoDB":
            filters = (properties.get("FilterCriteria") or {}).get("Filters") or []
            on_failure = ((raw_properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            streams.append(
                StreamSource(
                    function_id=function_id,
                    event_name=event_name,
                    table_id=_stream_table(template, function_id, event_name, raw_properties.get("Stream")),
                    starting_position=str(properties.get("StartingPosition", "TRIM_HORIZON")),
                    batch_size=_int(properties.get("BatchSize"), 100),
                    batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds") or 0),
                    bisect_on_error=_bool(properties.get("BisectBatchOnFunctionError"), False),
                    maximum_retry_attempts=_int(properties.get("MaximumRetryAttempts"), -1),
                    maximum_record_age_seconds=_int(properties.get("MaximumRecordAgeInSeconds"), -1),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                    filter_patterns=tuple(
                        _pattern(function_id, event_name, item.get("Pattern")) for item in filters
                    ),
                    on_failure_destination=_resource_name(template, on_failure),
                    enabled=_bool(properties.get("Enabled"), True),
                )
            )
        elif kind == "EventBridgeRule":
            retry = properties.get("RetryPolicy") or {}
            bus = properties.get("EventBusName") or "default"
            rules.append(
                EventRule(
                    function_id=function_id,
                    event_name=event_name,
                    bus_name=str(bus).rsplit("event-bus/", 1)[-1],
                    pattern=_pattern(function_id, event_name, properties.get("Pattern")),
                    maximum_retry_attempts=_int(retry.get("MaximumRetryAttempts"), 185),
                    maximum_event_age_seconds=_int(retry.get("MaximumEventAgeInSeconds"), 86400),
                    dead_letter_queue=_dead_letter_queue(
                        template, raw_properties.get("DeadLetterConfig"), f"{function_id}{event_name}"
                    ),
                    enabled=str(properties.get("State", "ENABLED")).upper() != "DISABLED",
                )
            )
        elif kind in {"Schedule", "ScheduleV2"}:
            retry = properties.get("RetryPolicy") or {}
            expression = properties.get("Schedule") or properties.get("ScheduleExpression")
            if not expression:
                raise TemplateError(f"{function_id}.{event_name}: a Schedule event needs a Schedule")
            enabled = _bool(properties.get("Enabled"), True)
            if str(properties.get("State", "ENABLED")).upper() == "DISABLED":
                enabled = False
            schedules.append(
                ScheduleSource(
                    function_id=function_id,
                    event_name=event_name,
                    expression=str(expression),
                    maximum_retry_attempts=_int(retry.get("MaximumRetryAttempts"), 185),
                    maximum_event_age_seconds=_int(retry.get("MaximumEventAgeInSeconds"), 86400),
                    dead_letter_queue=_dead_letter_queue(
                        template, raw_properties.get("DeadLetterConfig"), f"{function_id}{event_name}"
                    ),
                    enabled=enabled,
                )
            )
    return tuple(streams), tuple(rules), tuple(schedules)


def _api(template: Template) -> Api | None:
    apis = {
        logical_id: resource
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::Serverless::Api"
    }
    if not apis:
        return None
    if len(apis) > 1:
        raise TemplateError(f"the local runtime serves one AWS::Serverless::Api, found {sorted(apis)}")
    ((logical_id, resource),) = apis.items()
    properties = resource.get("Properties") or {}
    auth = properties.get("Auth") or {}
    authorizer_function_id: str | None = None
    identity_headers: tuple[str, ...] = ()
    ttl_seconds = 0
    default_name = auth.get("DefaultAuthorizer")
    if default_name and default_name != "NONE":
        authorizer = (auth.get("Authorizers") or {}).get(default_name)
        if authorizer is None:
            raise TemplateError(f"DefaultAuthorizer {default_name} is not among the Api's Authorizers")
        function_arn = authorizer.get("FunctionArn")
        if isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn:
            target = function_arn["Fn::GetAtt"]
            authorizer_function_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
        else:
            raise TemplateError(
                "the authorizer's FunctionArn must be a !GetAtt of a function in the template"
            )
        identity = authorizer.get("Identity") or {}
        identity_headers = tuple(identity.get("Headers") or ())
        ttl_seconds = _int(template.resolve(identity.get("ReauthorizeEvery")), 300)
    responses: dict[str, GatewayResponse] = {}
    for name, spec in (properties.get("GatewayResponses") or {}).items():
        status = spec.get("StatusCode")
        responses[name] = GatewayResponse(
            status_code=None if status is None else int(status),
            headers=dict((spec.get("ResponseParameters") or {}).get("Headers") or {}),
            templates=dict(spec.get("ResponseTemplates") or {}),
        )
    return Api(
        logical_id=logical_id,
        stage_name=template.resolve_string(properties.get("StageName", "local")),
        authorizer_function_id=authorizer_function_id,
        identity_headers=identity_headers,
        gateway_responses=responses,
        authorizer_ttl_seconds=ttl_seconds,
    )


def _functions(template: Template, globals_: Mapping[str, Any], api: Api | None) -> dict[str, Function]:
    functions: dict[str, Function] = {}
    global_variables = (globals_.get("Environment") or {}).get("Variables") or {}
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = {**globals_, **(resource.get("Properties") or {})}
        own_variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        variables = {**global_variables, **own_variables}
        code_uri = properties.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder")
        events = dict(properties.get("Events") or {})
        streams, rules, schedules = _event_sources(template, logical_id, events)
        functions[logical_id] = Function(
            logical_id=logical_id,
            code_uri=(template.path.parent / code_uri).resolve(),
            handler=str(properties.get("Handler", "app.lambda_handler")),
            environment={name: template.resolve_string(value) for name, value in variables.items()},
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            routes=_routes(logical_id, events, default_authorizer=bool(api and api.authorizer_function_id)),
            events=events,
            stream_sources=streams,
            event_rules=rules,
            schedules=schedules,
            async_config=_async_config(template, logical_id, properties),
        )
    return functions


def load_template(
    path: Path | str,
    parameter_overrides: Mapping[str, str] | None = None,
    *,
    command: str = LOCAL_COMMAND,
) -> Template:
    """Read a SAM template and resolve what the local runtime needs from it.

    Parameters take `parameter_overrides` when given, else the `samconfig.toml` overrides of
    `command` (as `sam local` applies them), else their defaults."""
    template_path = Path(path).resolve()
    try:
        document = yaml.load(template_path.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"cannot read {template_path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{template_path} has no Resources section")
    template = Template(
        path=template_path,
        parameters=_parameters(
            document,
            samconfig_overrides(template_path, command)
            if parameter_overrides is None
            else parameter_overrides,
        ),
        resources=document["Resources"],
        conditions=dict(document.get("Conditions") or {}),
    )
    template = replace(
        template,
        tables={
            logical_id: dict(resource.get("Properties") or {})
            for logical_id, resource in template.resources.items()
            if resource.get("Type") == "AWS::DynamoDB::Table"
        },
    )
    template = replace(template, api=_api(template))
    globals_ = dict((document.get("Globals") or {}).get("Function") or {})
    return replace(template, functions=_functions(template, globals_, template.api))


def _table_request(table_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for name in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if name in properties:
            request[name] = properties[name]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def create_tables(
    client: DynamoDBClient, template: Template, *, skip_existing: bool = False
) -> dict[str, str]:
    """Create every `AWS::DynamoDB::Table` of the template from its own properties.

    Returns logical id → table name. With `skip_existing`, a table that already exists (an external
    endpoint reused across runs) is left as it is.
    """
    created: dict[str, str] = {}
    for logical_id, raw_properties in template.tables.items():
        properties = template.resolve(raw_properties)
        table_name = logical_id
        try:
            client.create_table(**_table_request(table_name, properties))
        except client.exceptions.ResourceInUseException:
            if not skip_existing:
                raise
            created[logical_id] = table_name
            continue
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled", True):
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        created[logical_id] = table_name
    return created


def default_template_path() -> Path:
    """`./template.yaml` when run from a project folder, else the template of this repository."""
    here = Path.cwd() / "template.yaml"
    if here.is_file():
        return here
    return Path(__file__).resolve().parent.parent / "template.yaml"
