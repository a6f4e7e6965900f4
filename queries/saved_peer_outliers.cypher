// A provider among its peers
// Answers: the providers of the same kind and specialty as the given one (its peer group, the
// one peer_outlier judges it against), each with its peer-outlier alerts (summary with the
// figures: days per patient against the peers' median), outliers first, then by links.
// Parameters: $provider_id (the provider's number), $limit (peers, e.g. 50)
MATCH (p:Provider {id: $provider_id})
MATCH (peer:Provider {kind: p.kind})
WHERE coalesce(peer.specialty, '') = coalesce(p.specialty, '')
OPTIONAL MATCH (a:Alert {pattern: 'peer_outlier'})-[i:INVOLVES]->(peer)
RETURN peer.id AS provider_id, peer.caption AS caption, peer.degree AS links, a.id AS alert_id,
       a.summary AS summary, peer, i, a
ORDER BY coalesce(a.score, -1) DESC, coalesce(links, 0) DESC, provider_id
LIMIT $limit
