// Guide: example parameters for Top alerts of a pattern (the double-billing alerts)
// No parameters; returns the saved query's: pattern, limit
RETURN 'double_billing' AS pattern, 10 AS limit
