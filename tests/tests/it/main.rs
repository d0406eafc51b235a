//! Integration tests: one binary, so one DynamoDB Local serves the run.

mod chain;
mod dynamo_local;
mod epoch_stats;
mod events;
mod fixtures;
mod health;
mod hello;
mod hostile;
mod hot;
mod iam;
mod inference_writes;
mod inferences;
mod inferences_route;
mod jail_health;
mod links;
mod network;
mod openapi;
mod pages;
mod participant;
mod reliability;
mod replay;
mod scheduler;
mod support;
mod table;
mod tallies;
mod warmer;
