// Schema: index of Alert.pattern, for the alerts of one pattern
// Run by `fraudnet neo4j sync` before any write. No parameters.
CREATE INDEX alert_pattern IF NOT EXISTS FOR (n:Alert) ON (n.pattern)
