// Guide: example parameters for A doctor shopper's prescribers and pharmacies (the top doctor-shopping alert)
// No parameters; returns the saved query's: alert_id
MATCH (a:Alert {pattern: 'doctor_shopping'})
RETURN a.id AS alert_id
ORDER BY a.score DESC, a.id
LIMIT 1
