"""The HTTP edge's models: what clients send and what they get back.

Inputs (`...Create`, `...Update`, action bodies) forbid unknown fields (no mass
assignment), bound every string, list and number, and take numbers and booleans
strictly (`"yes"` is not `true`, `"91"` is not a latitude), so a hostile body is
a 422 naming the field, never a 500 or a silent coercion. Outputs (`...Public`)
never carry a password hash. The domain's own models stay behind this edge.
"""
