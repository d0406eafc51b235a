//! The `hostile_links` knob: participants whose registered links and
//! Keybase answers are written to attack the dashboard (script URLs, quotes
//! and angle brackets, userinfo, names outside Keybase's charset), so tests
//! see the backend serve them as null or escaped. Off by default; with it
//! on, participant `i`'s case is `i % 4` (see each function).

use super::universe::Model;

/// What participant `i`'s hostile inference URL is built from.
const SCRIPT_TAIL: &str = r#"/"><script>alert(1)</script>"#;

impl Model {
    /// The same model with hostile links on or off.
    pub fn with_hostile_links(&self, on: bool) -> Model {
        let mut m = self.clone();
        m.hostile_links = on;
        m
    }

    pub fn hostile_links(&self) -> bool {
        self.hostile_links
    }

    /// The same model with the state below `height` pruned (0: none), as
    /// a node with `pruning = "default"` keeps only recent heights.
    pub fn with_pruned_below(&self, height: u64) -> Model {
        let mut m = self.clone();
        m.pruned_below = height;
        m
    }

    /// Heights below this answer "version does not exist" (0: none).
    pub fn pruned_below(&self) -> u64 {
        self.pruned_below
    }

    /// Participant `i`'s `inference_url` (list and epoch entry alike). With
    /// the knob: 0, userinfo in front of its (healthy) node; 1, a
    /// `javascript:` URL; 2, a quote and a tag after its node's path; 3, the
    /// normal one.
    pub(super) fn inference_url_of(&self, i: usize) -> String {
        let normal = &self.participant(i).inference_url;
        if !self.hostile_links {
            return normal.clone();
        }
        match i % 4 {
            0 => normal.replacen("http://", "http://user:pw@", 1),
            1 => "javascript:alert(document.cookie)//".into(),
            2 => format!("{normal}{SCRIPT_TAIL}"),
            _ => normal.clone(),
        }
    }

    /// Participant `i`'s validator website with the knob (`None`: the
    /// normal one): 0, a quote and a tag after an https URL; 1, `data:`;
    /// 2, `ftp:`; 3, the normal one.
    pub(super) fn hostile_website(&self, i: usize) -> Option<String> {
        if !self.hostile_links {
            return None;
        }
        match i % 4 {
            0 => Some(format!("https://x.example{SCRIPT_TAIL}")),
            1 => Some("data:text/html,<script>alert(1)</script>".into()),
            2 => Some("ftp://files.example/".into()),
            _ => None,
        }
    }

    /// Participant `i`'s Keybase identity with the knob (`None`: the normal
    /// one): 0, one the Keybase stand-in answers with a hostile username
    /// (`B...`); 1, one it answers with a valid mixed-case name (`C...`).
    pub(super) fn hostile_identity(&self, i: usize) -> Option<String> {
        if !self.hostile_links {
            return None;
        }
        match i % 4 {
            0 => Some(format!("B{:015X}", i)),
            1 => Some(format!("C{:015X}", i)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::SimConfig;
    use crate::model::Model;

    #[test]
    fn the_knob_changes_links_only_while_on() {
        let normal = Model::new(&SimConfig {
            participants: 30,
            node_base_url: Some("http://127.0.0.1:9".into()),
            ..SimConfig::default()
        });
        let hostile = normal.with_hostile_links(true);
        let h = normal.latest_block_height();
        let urls = |m: &Model| -> Vec<String> {
            (0..8)
                .map(|i| {
                    let addr = &m.participant(i).address;
                    m.participant_list_entry(h, addr).unwrap().inference_url
                })
                .collect()
        };
        let (before, during) = (urls(&normal), urls(&hostile));
        assert_eq!(
            during[4],
            before[4].replacen("http://", "http://user:pw@", 1)
        );
        assert!(during[5].starts_with("javascript:"));
        assert!(during[6].starts_with(&before[6]) && during[6].contains("\"><script>"));
        assert_eq!(during[7], before[7]);
        // The epoch entry (what the health job probes) says the same.
        let addr = hostile.participant(4).address.clone();
        let epoch = (1..=hostile.current_epoch())
            .rev()
            .find(|&e| hostile.epoch_participant(e, &addr).is_some())
            .unwrap();
        assert_eq!(
            hostile
                .epoch_participant(epoch, &addr)
                .unwrap()
                .inference_url,
            during[4]
        );
        assert_eq!(urls(&hostile.with_hostile_links(false)), before);
        let website = |m: &Model, i: usize| {
            m.validator_of(&m.participant(i).address, h)
                .map(|v| v.description.website)
        };
        assert_eq!(
            website(&hostile, 0).as_deref(),
            Some(r#"https://x.example/"><script>alert(1)</script>"#)
        );
        assert_eq!(website(&hostile, 3), website(&normal, 3));
    }
}
