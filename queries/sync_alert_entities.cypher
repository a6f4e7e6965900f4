// Sync: link each Alert to its entities, the relationship naming the entity's role in the case
// Parameters: $rows (list of {alert_id, key, role, standing}: key is the entity's key;
// standing is accused, participant or victim), $run_id
UNWIND $rows AS row
MATCH (a:Alert {id: row.alert_id})
MATCH (n:Entity {key: row.key})
MERGE (a)-[r:INVOLVES {role: row.role}]->(n)
SET r.run_id = $run_id, r.standing = row.standing
