"""Pure, synchronous decisions: plain data in, decisions out; ``now`` is always a parameter.

model        Broker (spec, desired and observed state), Task, Failover, Stickiness; persisted and REST JSON
errors       ParseError(field, text, message), ValidationError(field, message)
ranges, durations, maps, expr     mesos/kafka's text formats (port ranges, 10s, k=v maps, broker/topic exprs)
validation   add/update/clone parameters applied to broker specs
constraints  like/unlike/unique/cluster/groupBy against the other brokers' placements
resources, offers, matching      offers -> launch decisions with reasons for every broker not placed
failover, lifecycle, reconcile   status updates, failover backoff, stickiness, reconciliation bookkeeping
"""
