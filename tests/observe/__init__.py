"""
The operator's view: alerts and the audit trail.
"""
