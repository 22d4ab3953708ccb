"""A tiny SAM project for the local event path: a table with a stream, a bus, a relay, consumers.

The stand-in functions write what they saw to JSON-lines files in `LOG_DIR`, so a test can tell
which function got which event, how many times, and in which batches.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

TABLE = "EventPathTable"
BUS = "leasing-dev"

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Handler: app.lambda_handler
    Environment:
      Variables:
        TABLE_NAME: !Ref EventPathTable
        EVENT_BUS_NAME: !Ref LeasingBus
        LOG_DIR: "@LOG_DIR@"
Resources:
  EventPathTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: sk, AttributeType: S }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
        - { AttributeName: sk, KeyType: RANGE }
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
  LeasingBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub leasing-${Stage}
  LocalApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
  RelayFailureQueue:
    Type: AWS::SQS::Queue
  RelayFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/relay/
      Events:
        OutboxStream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt EventPathTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 1
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: >-
                    {"eventName": ["INSERT"],
                     "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt RelayFailureQueue.Arn
  AssignFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      Events:
        LeaseRequested:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              source: [layers.leasing]
              detail-type: [LeaseRequested]
            RetryPolicy:
              MaximumRetryAttempts: 2
              MaximumEventAgeInSeconds: 3600
  BillingFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      Events:
        Assigned:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              source: [layers.leasing]
              detail-type: [{"prefix": "LeasedAccount"}]
            RetryPolicy:
              MaximumRetryAttempts: 2
  FlakyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      Events:
        Flaky:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              detail-type: [Flaky]
            RetryPolicy:
              MaximumRetryAttempts: 0
  BrokenFailureQueue:
    Type: AWS::SQS::Queue
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        MaximumEventAgeInSeconds: 3600
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt BrokenFailureQueue.Arn
      Events:
        Broken:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              detail-type: [Broken]
            RetryPolicy:
              MaximumRetryAttempts: 2
            DeadLetterConfig:
              Type: SQS
              QueueLogicalId: BrokenDeadLetterQueue
  DroppedFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      Events:
        Dropped:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              detail-type: [Dropped]
  AgedFailureQueue:
    Type: AWS::SQS::Queue
  AgedFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      EventInvokeConfig:
        MaximumRetryAttempts: 2
        MaximumEventAgeInSeconds: 60
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt AgedFailureQueue.Arn
      Events:
        Aged:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref LeasingBus
            Pattern:
              detail-type: [Aged]
  RenewFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/renew/
      Events:
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            RetryPolicy:
              MaximumRetryAttempts: 1
"""

COMMON = """
import json, os

def log(name, payload):
    with open(os.path.join(os.environ["LOG_DIR"], name + ".jsonl"), "a") as file:
        file.write(json.dumps(payload) + "\\n")

def lines(name):
    path = os.path.join(os.environ["LOG_DIR"], name + ".jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]
"""

RELAY = (
    COMMON
    + """
import boto3

def lambda_handler(event, context):
    ids = [record["dynamodb"]["NewImage"]["eventId"]["S"] for record in event["Records"]]
    log("relay-batches", ids)
    details = [json.loads(r["dynamodb"]["NewImage"]["detail"]["S"]) for r in event["Records"]]
    if any(detail.get("relay") == "raise" for detail in details):
        raise RuntimeError("relay cannot publish a poison record")
    client = boto3.client("events")
    for record, event_id, detail in zip(event["Records"], ids, details):
        seen = sum(1 for batch in lines("relay-batches") for item in batch if item == event_id)
        if detail.get("relay") == "fail-once" and seen == 1:
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        response = client.put_events(Entries=[{
            "Source": "layers.leasing",
            "DetailType": record["dynamodb"]["NewImage"]["eventType"]["S"],
            "Detail": json.dumps({**detail, "eventId": event_id}),
            "EventBusName": os.environ["EVENT_BUS_NAME"],
        }])
        if response["FailedEntryCount"]:
            raise RuntimeError(response["Entries"])
    return {"batchItemFailures": []}
"""
)

CONSUMER = (
    COMMON
    + """
import uuid
import boto3

def lambda_handler(event, context):
    name = context.function_name
    log(name + "-attempts", event["id"])
    attempts = sum(1 for item in lines(name + "-attempts") if item == event["id"])
    if name == "FlakyFunction" and attempts <= 2:
        raise RuntimeError(f"flaky attempt {attempts}")
    if name in ("BrokenFunction", "DroppedFunction", "AgedFunction"):
        raise RuntimeError("always broken")
    detail = event["detail"]
    log(name, {"id": event["id"], "detail-type": event["detail-type"], "detail": detail})
    chain = detail.get("next") or []
    if chain:
        event_id = "evt_" + uuid.uuid4().hex
        boto3.client("dynamodb").put_item(TableName=os.environ["TABLE_NAME"], Item={
            "pk": {"S": "OUTBOX#" + event_id}, "sk": {"S": "OUTBOX"},
            "eventId": {"S": event_id}, "eventType": {"S": chain[0]},
            "detail": {"S": json.dumps({"next": chain[1:], "step": detail.get("step", 0) + 1})},
        })
    return {"handled": event["id"]}
"""
)

RENEW = """
def lambda_handler(event, context):
    return {"now": event["time"], "detailType": event["detail-type"], "resources": event["resources"]}
"""


def write_project(folder: Path) -> Path:
    """The template and its stand-in functions under `folder`; returns the template's path."""
    log_dir = folder / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, source in (("relay", RELAY), ("consumer", CONSUMER), ("renew", RENEW)):
        code = folder / "functions" / name
        code.mkdir(parents=True, exist_ok=True)
        (code / "app.py").write_text(source)
    template = folder / "template.yaml"
    template.write_text(TEMPLATE.replace("@LOG_DIR@", str(log_dir)))
    return template


def read_log(folder: Path, name: str) -> list[Any]:
    path = folder / "logs" / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def outbox_put(event_type: str, detail: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """A `Put` of an outbox item in the shape the repository writes (for TransactWriteItems)."""
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {
                "pk": {"S": f"OUTBOX#{event_id}"},
                "sk": {"S": "OUTBOX"},
                "entity": {"S": "outbox"},
                "eventId": {"S": event_id},
                "eventType": {"S": event_type},
                "detail": {"S": json.dumps(detail)},
            },
        }
    }
