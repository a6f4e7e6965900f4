// Guide: example parameters for A dense block (the top dense-block alert)
// No parameters; returns the saved query's: alert_id, limit
MATCH (a:Alert {pattern: 'dense_block'})
RETURN a.id AS alert_id, 300 AS limit
ORDER BY a.score DESC, a.id
LIMIT 1
