//! Route selection as API Gateway HTTP APIs do it: the most specific match
//! wins (a route without path variables, then one with a greedy
//! `{proxy+}`, then `$default`), an explicit method before `ANY`.

use crate::template::Route;

use super::percent_decode;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`: one or more remaining segments (last segment only).
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Compiled {
    route: Route,
    /// Empty for `$default`.
    segments: Vec<Segment>,
}

/// The chosen route and the path's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub route_key: String,
    /// Decoded values, in path order.
    pub path_parameters: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Compiled>,
}

fn compile(path: &str) -> Vec<Segment> {
    if path == "$default" {
        return Vec::new();
    }
    path.trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_string()),
                    None => Segment::Param(name.to_string()),
                },
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

/// Path variables if `parts` fit `segments`.
fn match_path(segments: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(lit) => {
                if parts.get(i) != Some(&lit.as_str()) {
                    return None;
                }
            }
            Segment::Param(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                params.push((name.clone(), percent_decode(part)));
            }
            Segment::Greedy(name) => {
                let rest = parts.get(i..).map(|r| r.join("/")).unwrap_or_default();
                if rest.is_empty() {
                    return None;
                }
                params.push((name.clone(), percent_decode(&rest)));
                return Some(params);
            }
        }
    }
    (parts.len() == segments.len()).then_some(params)
}

impl RouteTable {
    pub fn new<'a>(routes: impl IntoIterator<Item = &'a Route>) -> RouteTable {
        RouteTable {
            routes: routes
                .into_iter()
                .map(|r| Compiled {
                    segments: compile(&r.path),
                    route: r.clone(),
                })
                .collect(),
        }
    }

    pub fn find(&self, method: &str, raw_path: &str) -> Option<RouteMatch<'_>> {
        let parts: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|c| c.route.method == "ANY" || c.route.method == method)
            .filter_map(|c| {
                let params = if c.segments.is_empty() {
                    Vec::new()
                } else {
                    match_path(&c.segments, &parts)?
                };
                let kind = match c.segments.last() {
                    None => 0,
                    Some(Segment::Greedy(_)) => 1,
                    Some(_) => 2,
                };
                let literals = c
                    .segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                let exact_method = c.route.method != "ANY";
                Some(((kind, literals, exact_method), c, params))
            })
            .max_by_key(|(score, _, _)| *score)
            .map(|(_, c, params)| RouteMatch {
                route: &c.route,
                route_key: c.route.route_key(),
                path_parameters: params,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(function: &str, method: &str, path: &str) -> Route {
        Route {
            function: function.into(),
            method: method.into(),
            path: path.into(),
        }
    }

    fn table() -> (Vec<Route>, RouteTable) {
        let routes = vec![
            route("epoch-stats", "GET", "/v1/inference/current"),
            route("epoch-stats", "GET", "/v1/inference/epochs/{epoch_id}"),
            route("participant", "GET", "/v1/participants/{participant_id}"),
            route("files", "ANY", "/files/{proxy+}"),
            route("special", "GET", "/v1/inference/epochs/latest"),
        ];
        let table = RouteTable::new(&routes);
        (routes, table)
    }

    #[test]
    fn matches_like_api_gateway() {
        let (_, t) = table();
        let m = t.find("GET", "/v1/inference/epochs/59").unwrap();
        assert_eq!(m.route.function, "epoch-stats");
        assert_eq!(m.route_key, "GET /v1/inference/epochs/{epoch_id}");
        assert_eq!(
            m.path_parameters,
            [("epoch_id".to_string(), "59".to_string())]
        );
        // A literal route beats a variable one.
        assert_eq!(
            t.find("GET", "/v1/inference/epochs/latest")
                .unwrap()
                .route
                .function,
            "special"
        );
        let m = t.find("GET", "/v1/participants/gonka1%20x").unwrap();
        assert_eq!(m.path_parameters[0].1, "gonka1 x");
        let m = t.find("DELETE", "/files/a/b%2Fc").unwrap();
        assert_eq!(m.route_key, "ANY /files/{proxy+}");
        assert_eq!(
            m.path_parameters,
            [("proxy".to_string(), "a/b/c".to_string())]
        );
    }

    #[test]
    fn refuses_what_api_gateway_refuses() {
        let (_, t) = table();
        assert!(t.find("POST", "/v1/inference/current").is_none(), "method");
        assert!(
            t.find("GET", "/v1/inference/current/").is_none(),
            "trailing slash"
        );
        assert!(
            t.find("GET", "/v1/inference/epochs/").is_none(),
            "empty variable"
        );
        assert!(
            t.find("GET", "/v1/inference/epochs/1/2").is_none(),
            "extra segment"
        );
        assert!(t.find("GET", "/files").is_none(), "greedy needs a segment");
        assert!(t.find("GET", "/").is_none());
    }

    #[test]
    fn default_route_is_the_fallback() {
        let mut routes = table().0;
        routes.push(route("fallback", "ANY", "$default"));
        let t = RouteTable::new(&routes);
        let m = t.find("PUT", "/anything").unwrap();
        assert_eq!(
            (m.route.function.as_str(), m.route_key.as_str()),
            ("fallback", "$default")
        );
        assert_eq!(
            t.find("GET", "/v1/inference/current")
                .unwrap()
                .route
                .function,
            "epoch-stats"
        );
    }
}
