//! Chain constants: address prefix, epoch stage lengths, block timing, model
//! names and the warm-key message types.

/// Bech32 prefix of account addresses.
pub const HRP: &str = "gonka";
/// `poc_start_block_height(e) = POC_START_OFFSET + e * epoch_length`.
pub const POC_START_OFFSET: u64 = 1_000;
/// Blocks from PoC start to the end of PoC generation.
pub const POC_STAGE_DURATION: u64 = 60;
/// Blocks between PoC generation end and PoC validation start.
pub const POC_VALIDATION_DELAY: u64 = 2;
/// Blocks of PoC validation.
pub const POC_VALIDATION_DURATION: u64 = 5;
/// Blocks from validation end to the switch to the new validator set.
pub const SET_NEW_VALIDATORS_DELAY: u64 = 120;
/// `effective_block_height(e) - poc_start_block_height(e)` (187, as on mainnet).
pub const EFFECTIVE_DELAY: u64 =
    POC_STAGE_DURATION + POC_VALIDATION_DELAY + POC_VALIDATION_DURATION + SET_NEW_VALIDATORS_DELAY;
/// `created_at_block_height(e) - poc_start_block_height(e)`.
pub const CREATED_DELAY: u64 = EFFECTIVE_DELAY - 2;
/// Blocks before the next PoC start after which inferences are no longer validated.
pub const INFERENCE_VALIDATION_CUTOFF: u64 = 80;
/// The money-transfer restriction ends at this epoch's PoC start
/// (`restriction_end_block`): passed for the default current epoch 60.
pub const RESTRICTION_END_EPOCH: u64 = 55;

/// The model names participants serve (real names, as in the recorded data).
pub const MODEL_NAMES: [&str; 4] = [
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    "Qwen/Qwen3-32B-FP8",
    "Qwen/Qwen2.5-7B-Instruct",
    "Qwen/QwQ-32B",
];

/// `authorization.@type` of every grant.
pub const GENERIC_AUTHORIZATION: &str = "/cosmos.authz.v1beta1.GenericAuthorization";

/// The 24 message types a warm key must be granted (contract section 2.4),
/// with the module paths the chain uses.
pub const WARM_KEY_MSG_TYPES: [&str; 24] = [
    "/inference.inference.MsgStartInference",
    "/inference.inference.MsgFinishInference",
    "/inference.inference.MsgClaimRewards",
    "/inference.inference.MsgValidation",
    "/inference.inference.MsgSubmitPocBatch",
    "/inference.inference.MsgSubmitPocValidation",
    "/inference.inference.MsgSubmitSeed",
    "/inference.inference.MsgBridgeExchange",
    "/inference.inference.MsgSubmitTrainingKvRecord",
    "/inference.inference.MsgJoinTraining",
    "/inference.inference.MsgJoinTrainingStatus",
    "/inference.inference.MsgTrainingHeartbeat",
    "/inference.inference.MsgSetBarrier",
    "/inference.inference.MsgClaimTrainingTaskForAssignment",
    "/inference.inference.MsgAssignTrainingTask",
    "/inference.inference.MsgSubmitNewUnfundedParticipant",
    "/inference.inference.MsgSubmitHardwareDiff",
    "/inference.inference.MsgInvalidateInference",
    "/inference.inference.MsgRevalidateInference",
    "/inference.bls.MsgSubmitDealerPart",
    "/inference.bls.MsgSubmitVerificationVector",
    "/inference.bls.MsgRequestThresholdSignature",
    "/inference.bls.MsgSubmitPartialSignature",
    "/inference.bls.MsgSubmitGroupKeyValidationSignature",
];
