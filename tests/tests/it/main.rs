//! Integration tests: one binary, so one DynamoDB Local serves the run.

mod chain;
mod dynamo_local;
mod fixtures;
mod support;
mod table;
