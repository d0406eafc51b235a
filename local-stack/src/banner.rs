//! The ready banner: what `local-stack` prints once every instance polls
//! for events (scripts wait for its first line), and how a launcher reads
//! the endpoints back from it. Both sides live here so they cannot drift.

use std::path::Path;

use sim_chain::SimChain;

/// The line scripts wait for: `Local stack ready: http://127.0.0.1:PORT`.
pub const READY: &str = "Local stack ready: ";
/// `Chain (simulated: ...): URL` or `Chain: URLS`.
pub const CHAIN: &str = "Chain";
pub const DYNAMODB: &str = "DynamoDB Local: ";
pub const INVOKE: &str = "Lambda Invoke API: ";
pub const METER: &str = "Meter: ";

/// What the banner states.
pub struct Banner<'a> {
    pub api: String,
    pub chain_urls: &'a str,
    pub chain: Option<&'a SimChain>,
    pub dynamodb: &'a str,
    pub meter: &'a str,
    pub tables: &'a [&'a str],
    pub invoke: String,
    pub instances: &'a str,
    pub bin_dir: &'a Path,
}

impl Banner<'_> {
    /// The ready line, example requests, and where everything else is.
    pub fn render(&self) -> String {
        let api = &self.api;
        let mut out = format!("\n{READY}{api}\n");
        out += &format!("  curl -s {api}/v1/inference/current | head -c 300\n");
        out += &format!("  curl -s {api}/v1/timeline | head -c 300\n");
        out += &format!("  curl -s {api}/v1/models/current | head -c 300\n");
        match self.chain {
            Some(chain) => {
                let model = chain.model();
                let epoch = model.current_epoch();
                if epoch > 1 {
                    out += &format!(
                        "  curl -s {api}/v1/inference/epochs/{} | head -c 300\n",
                        epoch - 1
                    );
                }
                if let Some(id) = model.participants_in_epoch(epoch).first() {
                    out += &format!(
                        "  curl -s '{api}/v1/participants/{id}?epoch_id={epoch}' | head -c 300\n"
                    );
                }
                out += &format!(
                    "{CHAIN} (simulated: {} participants, current epoch {epoch}): {}  (requests: curl -s {}/__stats)\n",
                    model.participant_count(),
                    self.chain_urls,
                    self.chain_urls
                );
            }
            None => out += &format!("{CHAIN}: {}\n", self.chain_urls),
        }
        out += &format!(
            "{DYNAMODB}{}  (tables: {}; e.g. aws dynamodb scan --endpoint-url {} --table-name {} --select COUNT)\n",
            self.dynamodb,
            self.tables.join(", "),
            self.dynamodb,
            self.tables.first().copied().unwrap_or("?")
        );
        out += &format!(
            "{METER}{}  (AWS_ENDPOINT_URL_DYNAMODB of the functions, forwarded to DynamoDB Local; \
             table requests, capacity and billed durations: curl -s {}/__meter)\n",
            self.meter, self.meter
        );
        out += &format!(
            "{INVOKE}{}  (AWS_ENDPOINT_URL_LAMBDA of the functions)\n",
            self.invoke
        );
        out += &format!(
            "Functions: {} (binaries in {})\nCtrl-C stops everything.\n\n",
            self.instances,
            self.bin_dir.display()
        );
        out
    }
}

/// The endpoints a banner names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Urls {
    /// The API Gateway front.
    pub api: String,
    /// The chain: the simulator's URL, or the `CHAIN_API_URLS` given.
    pub chain: String,
    pub dynamodb: String,
    /// The Lambda Invoke API.
    pub invoke: String,
    /// The meter (the functions' DynamoDB endpoint).
    pub meter: String,
}

impl Urls {
    /// Takes the URL a banner line names, if it names one.
    pub fn read_line(&mut self, line: &str) -> Result<(), String> {
        let slot = if line.starts_with(READY) {
            &mut self.api
        } else if line.starts_with(CHAIN) {
            &mut self.chain
        } else if line.starts_with(DYNAMODB) {
            &mut self.dynamodb
        } else if line.starts_with(INVOKE) {
            &mut self.invoke
        } else if line.starts_with(METER) {
            &mut self.meter
        } else {
            return Ok(());
        };
        *slot = first_url(line).ok_or_else(|| format!("no URL in the banner line {line:?}"))?;
        Ok(())
    }

    /// Every endpoint is known.
    pub fn complete(&self) -> bool {
        ![
            &self.api,
            &self.chain,
            &self.dynamodb,
            &self.invoke,
            &self.meter,
        ]
        .iter()
        .any(|u| u.is_empty())
    }
}

/// The first `http://...` word of a line.
pub fn first_url(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    Some(line[start..].split_whitespace().next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_banner_urls() {
        assert_eq!(
            first_url("Local stack ready: http://127.0.0.1:4000").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            first_url("DynamoDB Local: http://127.0.0.1:8000  (tables: x)").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(first_url("no url"), None);
    }

    #[test]
    fn reads_back_what_it_renders() {
        let tables = ["CacheTable"];
        let text = Banner {
            api: "http://127.0.0.1:3000".into(),
            chain_urls: "http://127.0.0.1:9",
            chain: None,
            dynamodb: "http://127.0.0.1:8",
            meter: "http://127.0.0.1:6",
            tables: &tables,
            invoke: "http://127.0.0.1:7".into(),
            instances: "epoch-stats x2",
            bin_dir: Path::new("/bin"),
        }
        .render();
        let mut urls = Urls::default();
        for line in text.lines() {
            urls.read_line(line).unwrap();
        }
        assert!(urls.complete());
        assert_eq!(
            urls,
            Urls {
                api: "http://127.0.0.1:3000".into(),
                chain: "http://127.0.0.1:9".into(),
                dynamodb: "http://127.0.0.1:8".into(),
                invoke: "http://127.0.0.1:7".into(),
                meter: "http://127.0.0.1:6".into(),
            }
        );
        assert!(Urls::default().read_line("Chain: none").is_err());
    }
}
