//! Integration tests: one binary, so one DynamoDB Local serves the run.

mod dynamo_local;
mod fixtures;
mod table;
