// Schema: Provider.id is unique (and indexed)
// Run by `fraudnet neo4j sync` (and `fraudnet neo4j schema`) before any write. No parameters.
CREATE CONSTRAINT provider_id IF NOT EXISTS FOR (n:Provider) REQUIRE n.id IS UNIQUE
