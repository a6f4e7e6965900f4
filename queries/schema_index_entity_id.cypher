// Schema: index of Entity.id, so any entity is found by its number whatever its label
// Run by `fraudnet neo4j sync` before any write. No parameters.
CREATE INDEX entity_id IF NOT EXISTS FOR (n:Entity) ON (n.id)
