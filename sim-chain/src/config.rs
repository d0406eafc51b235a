//! Simulator configuration: the size and shape of the generated chain, and
//! the knobs (latency, faults) tests and benchmarks turn at run time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that determines what the simulated chain answers.
///
/// All generated data is a pure function of `(seed, participants,
/// epoch_length, current_epoch)`; `latency` and `faults` only change how it is
/// delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Size of the participant universe (the participant list holds all of them).
    pub participants: usize,
    /// Inferences in the inference list (over the current, the previous
    /// and two older epochs).
    pub inferences: usize,
    /// The chain's current epoch (>= 1).
    pub current_epoch: u64,
    /// Seed of every generated value.
    pub seed: u64,
    /// Blocks per epoch (>= [`MIN_EPOCH_LENGTH`]).
    pub epoch_length: u64,
    /// Added to every chain request (not to the `/__` control endpoints).
    pub latency: Duration,
    /// The average block time: block `h` is this much after block `h - 1`,
    /// plus up to 0.9 s of jitter (at least 1 s, so times increase).
    pub block_interval: Duration,
    /// Whether the chain head advances with the wall clock (one block per
    /// `block_interval`, up to the end of the current epoch). Off, the head
    /// stays where it started, so a test sees one height throughout. Either
    /// way the head's time is about the start time (or the last epoch
    /// transition's).
    pub advance_heights: bool,
    /// Injected failures per endpoint kind.
    pub faults: HashMap<EndpointKind, Fault>,
    /// Where the simulated participants' nodes answer `/health` (the
    /// simulator's own URL; set by [`crate::SimChain::start_on`] when
    /// `None`). Without one, inference URLs are private addresses.
    pub node_base_url: Option<String>,
}

/// The epoch stages (PoC, validation, set-new-validators at +187 blocks)
/// need room inside an epoch.
pub const MIN_EPOCH_LENGTH: u64 = 400;

/// Mainnet's average block time, about 6 s.
pub const DEFAULT_BLOCK_INTERVAL_MS: u64 = 6_000;
/// Block times carry up to 0.9 s of jitter: a block interval must exceed it.
pub const MIN_BLOCK_INTERVAL_MS: u64 = 1_000;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            participants: 200,
            inferences: 3_000,
            current_epoch: 60,
            seed: 42,
            epoch_length: 15_000,
            latency: Duration::ZERO,
            block_interval: Duration::from_millis(DEFAULT_BLOCK_INTERVAL_MS),
            advance_heights: false,
            faults: HashMap::new(),
            node_base_url: None,
        }
    }
}

impl SimConfig {
    /// Rejects configurations the model cannot represent.
    pub fn validate(&self) -> Result<(), String> {
        if self.current_epoch < 1 {
            return Err("current_epoch must be >= 1".into());
        }
        if self.epoch_length < MIN_EPOCH_LENGTH {
            return Err(format!("epoch_length must be >= {MIN_EPOCH_LENGTH}"));
        }
        if self.block_interval < Duration::from_millis(MIN_BLOCK_INTERVAL_MS) {
            return Err(format!(
                "block_interval must be >= {MIN_BLOCK_INTERVAL_MS} ms"
            ));
        }
        if self.participants > 1_000_000 {
            return Err("participants must be <= 1000000".into());
        }
        if self.inferences > 1_000_000 {
            return Err("inferences must be <= 1000000".into());
        }
        for fault in self.faults.values() {
            fault.validate()?;
        }
        Ok(())
    }
}

/// The chain endpoints, as counted in stats and targeted by faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// `GET /v1/epochs/latest`
    Latest,
    /// `GET /v1/epochs/{current|N}/participants`
    EpochParticipants,
    /// `GET /chain-rpc/status`
    Status,
    /// `GET /chain-rpc/block?height=N`
    Block,
    /// `GET /chain-api/productscience/inference/inference/participant`
    ParticipantList,
    /// `GET .../epoch_performance_summary/{epoch}/{participant}`
    Summary,
    /// `GET /chain-api/cosmos/authz/v1beta1/grants/granter/{addr}`
    Authz,
    /// `GET .../hardware_nodes/{addr}`
    Hardware,
    /// `GET /chain-api/productscience/inference/restrictions/params`
    RestrictionsParams,
    /// `GET .../inference/models_all`
    ModelsAll,
    /// `GET .../inference/models_stats_by_time`
    ModelsStats,
    /// `GET .../inference/inference/inference` (the inference list)
    Inferences,
    /// `GET /chain-api/cosmos/staking/v1beta1/validators`
    Validators,
    /// `GET /chain-api/cosmos/slashing/v1beta1/signing_infos/{valcons}`
    SigningInfo,
}

impl EndpointKind {
    pub const ALL: [EndpointKind; 14] = [
        EndpointKind::Latest,
        EndpointKind::EpochParticipants,
        EndpointKind::Status,
        EndpointKind::Block,
        EndpointKind::ParticipantList,
        EndpointKind::Summary,
        EndpointKind::Authz,
        EndpointKind::Hardware,
        EndpointKind::RestrictionsParams,
        EndpointKind::ModelsAll,
        EndpointKind::ModelsStats,
        EndpointKind::Inferences,
        EndpointKind::Validators,
        EndpointKind::SigningInfo,
    ];

    /// The snake_case name used in stats keys, the CLI and `/__config`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Latest => "latest",
            EndpointKind::EpochParticipants => "epoch_participants",
            EndpointKind::Status => "status",
            EndpointKind::Block => "block",
            EndpointKind::ParticipantList => "participant_list",
            EndpointKind::Summary => "summary",
            EndpointKind::Authz => "authz",
            EndpointKind::Hardware => "hardware",
            EndpointKind::RestrictionsParams => "restrictions_params",
            EndpointKind::ModelsAll => "models_all",
            EndpointKind::ModelsStats => "models_stats",
            EndpointKind::Inferences => "inferences",
            EndpointKind::Validators => "validators",
            EndpointKind::SigningInfo => "signing_info",
        }
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EndpointKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EndpointKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = EndpointKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown endpoint kind {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// A failure injected into a share of the requests of one endpoint kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Probability in `0..=1` that a request of that kind fails.
    pub rate: f64,
    pub mode: FaultMode,
    /// Requests of that kind that pass before the fault applies, counted
    /// from when it is set (e.g. `rate 1, after 3`: the 4th page fails).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Fault {
    pub fn new(rate: f64, mode: FaultMode) -> Self {
        Fault {
            rate,
            mode,
            after: 0,
        }
    }

    /// The same fault, applying only after `n` requests of its kind pass.
    pub fn after(mut self, n: u64) -> Self {
        self.after = n;
        self
    }

    pub fn validate(&self) -> Result<(), String> {
        if (0.0..=1.0).contains(&self.rate) {
            Ok(())
        } else {
            Err(format!(
                "fault rate must be within 0..=1, got {}",
                self.rate
            ))
        }
    }
}

/// Parses the CLI form `RATE:MODE`, e.g. `0.3:503` or `0.1:hang:2000`.
impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rate, mode) = s
            .split_once(':')
            .ok_or_else(|| format!("fault {s:?}: expected RATE:MODE, e.g. 0.3:503"))?;
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("fault {s:?}: rate {rate:?} is not a number"))?;
        let fault = Fault::new(rate, mode.parse()?);
        fault.validate()?;
        Ok(fault)
    }
}

/// How an injected failure looks to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FaultMode {
    /// `503 Service Unavailable`, like a load balancer in front of a busy node.
    Status503,
    /// `500 Internal Server Error`.
    Status500,
    /// `200` with the JSON body cut in half (a dropped connection mid-body).
    Truncated,
    /// `200` with valid JSON of the wrong shape: `{"unexpected":true}`.
    WrongShape,
    /// Sleeps that long, then answers normally (exercises client timeouts).
    Hang(Duration),
}

/// Names: `503`, `500`, `truncated`, `wrong_shape`, `hang:MS`.
impl fmt::Display for FaultMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultMode::Status503 => f.write_str("503"),
            FaultMode::Status500 => f.write_str("500"),
            FaultMode::Truncated => f.write_str("truncated"),
            FaultMode::WrongShape => f.write_str("wrong_shape"),
            FaultMode::Hang(d) => write!(f, "hang:{}", d.as_millis()),
        }
    }
}

impl FromStr for FaultMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "503" | "status503" => Ok(FaultMode::Status503),
            "500" | "status500" => Ok(FaultMode::Status500),
            "truncated" => Ok(FaultMode::Truncated),
            "wrong_shape" | "wrongshape" => Ok(FaultMode::WrongShape),
            _ => match s.strip_prefix("hang:") {
                Some(ms) => ms
                    .parse::<u64>()
                    .map(|ms| FaultMode::Hang(Duration::from_millis(ms)))
                    .map_err(|_| format!("fault mode {s:?}: hang needs milliseconds, e.g. hang:2000")),
                None => Err(format!(
                    "unknown fault mode {s:?} (expected 503, 500, truncated, wrong_shape or hang:MS)"
                )),
            },
        }
    }
}

impl TryFrom<String> for FaultMode {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FaultMode> for String {
    fn from(mode: FaultMode) -> String {
        mode.to_string()
    }
}

/// Parses the CLI form `KIND=RATE:MODE`, e.g. `summary=0.3:503`.
pub fn parse_fault_spec(spec: &str) -> Result<(EndpointKind, Fault), String> {
    let (kind, fault) = spec
        .split_once('=')
        .ok_or_else(|| format!("fault {spec:?}: expected KIND=RATE:MODE, e.g. summary=0.3:503"))?;
    Ok((kind.parse()?, fault.parse()?))
}

/// Body of `POST /__config`: every field optional; `"faults": {"summary": null}`
/// clears that kind's fault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    pub latency_ms: Option<u64>,
    pub current_epoch: Option<u64>,
    pub faults: Option<HashMap<EndpointKind, Option<Fault>>>,
    /// `true` keeps the head where it is now (a chain on which nothing
    /// happens); `false` lets it advance with the clock again from there.
    pub freeze_head: Option<bool>,
    /// Makes this many new blocks now (the head moves; within the current
    /// epoch; applied after `freeze_head`).
    pub advance_blocks: Option<u64>,
    /// Flips the node health of these participants (generation indices,
    /// the `{i}` of `/node/{i}/health`): a healthy node answers 503 and an
    /// unhealthy one `ok`; flipping an index again flips it back.
    pub flip_health: Option<Vec<usize>>,
    /// `true` gives participants hostile links and Keybase names (script
    /// URLs, quotes and tags, userinfo; see `model::hostile`); `false`
    /// the normal ones again.
    pub hostile_links: Option<bool>,
}

/// The configuration in force, as returned by `GET`/`POST /__config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveConfig {
    pub participants: usize,
    pub inferences: usize,
    pub current_epoch: u64,
    pub seed: u64,
    pub epoch_length: u64,
    pub latency_ms: u64,
    pub faults: BTreeMap<EndpointKind, Fault>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fault_specs() {
        assert_eq!(
            parse_fault_spec("summary=0.3:503").unwrap(),
            (EndpointKind::Summary, Fault::new(0.3, FaultMode::Status503))
        );
        assert_eq!(
            parse_fault_spec("authz=1:hang:250").unwrap(),
            (
                EndpointKind::Authz,
                Fault::new(1.0, FaultMode::Hang(Duration::from_millis(250)))
            )
        );
        assert_eq!(
            parse_fault_spec("participant_list=0:wrong_shape")
                .unwrap()
                .1
                .mode,
            FaultMode::WrongShape
        );
        assert!(parse_fault_spec("summary=1.5:503").is_err());
        assert!(parse_fault_spec("nope=0.5:503").is_err());
        assert!(parse_fault_spec("summary=0.5:teapot").is_err());
        assert!(parse_fault_spec("summary").is_err());
    }

    #[test]
    fn fault_mode_round_trips_through_json() {
        for mode in [
            FaultMode::Status503,
            FaultMode::Status500,
            FaultMode::Truncated,
            FaultMode::WrongShape,
            FaultMode::Hang(Duration::from_millis(1500)),
        ] {
            let json = serde_json::to_string(&Fault::new(0.5, mode)).unwrap();
            let back: Fault = serde_json::from_str(&json).unwrap();
            assert_eq!(back.mode, mode, "{json}");
        }
    }

    #[test]
    fn endpoint_kind_names_match_serde() {
        for kind in EndpointKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.as_str().parse::<EndpointKind>().unwrap(), kind);
        }
    }
}
