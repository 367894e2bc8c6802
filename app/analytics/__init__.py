"""Analytics: pure computations on the store's daily aggregates; no I/O (docs/analytics.md).

inputs      frozen rows the store adapter fills (DayBucket, WindowTotals, ...)
ranges      7d | 30d | 90d | all | custom + now -> the window's days and previous period
series      zero-filled days and the history the models learn from
stats       medians, robust sigma, t quantiles
metrics     the headline metrics and their change on the previous period
forecast    exponential smoothing / Theil-Sen forecasts with 80 % intervals
smoothing   ETS forms with a weekly season: least squares within a form, AICc across
anomalies   robust z-scores against a leave-one-out local median, with severities
breakdowns  chain shares, most active addresses, largest transfers
report      analyze(inputs, window) -> Analytics, the typed answer
legacy      the legacy /api/analytics document from an Analytics
"""
