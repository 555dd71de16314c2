#!/usr/bin/env python3
# Prints the rule part of the two CEL markers on TriggerSpec.Schedule (common_types.go): what
# SchedulePattern cannot check, as whole-string regular expressions. Comprehensions over the
# split fields would be clearer, but the API server's cost estimator refuses them (quadratic in
# the 1200-character bound). pkg/apitests checks that the API server admits exactly what
# pkg/trigger.ParseSchedule (robfig/cron) accepts: rerun it after changing this file.
#
#   python3 api/v1alpha1/schedule_rules.py
MONTHS = ['jan','feb','mar','apr','may','jun','jul','aug','sep','oct','nov','dec']
DAYS = ['sun','mon','tue','wed','thu','fri','sat']

def num(v):
    """regex of the decimal forms of v the pattern allows (an optional leading zero below 10)."""
    return ('0?%d' % v) if v < 10 else str(v)

def alt(xs):
    return '(?:' + '|'.join(xs) + ')'

def gt(d):
    """regex of positive integers without leading zeros greater than d (d >= 0)."""
    xs = []
    if d < 9:
        xs.append('[%d-9]' % (d + 1) if d + 1 < 9 else '9')
    # two digits
    if d < 10:
        xs.append('[1-9][0-9]')
    else:
        t, u = divmod(d, 10)
        if u < 9:
            xs.append('%d[%d-9]' % (t, u + 1) if u + 1 < 9 else '%d9' % t)
        if t < 9:
            xs.append('[%d-9][0-9]' % (t + 1) if t + 1 < 9 else '9[0-9]')
    xs.append('[1-9][0-9]{2,}')
    return alt(xs)

B = '(?:^|[^0-9A-Za-z])'   # a range starts a field element
E = '(?:[^0-9A-Za-z]|$)'   # and ends before a step, a comma or a blank

# Reversed ranges. Numbers compare the same way in every field (0-59 at most); names are only
# in their own field, so a name range compares month or day values.
rev = []
# numeric: a > b, one or two digits each, with an optional leading zero
rev.append('[1-9][0-9]-0?[0-9]')                     # a >= 10 > b
for tb in range(1, 9):                               # tens of a greater than tens of b
    rev.append('[%d-9][0-9]-%d[0-9]' % (tb + 1, tb) if tb + 1 < 9 else '9[0-9]-8[0-9]')
for t in range(1, 10):                               # same tens, units of a greater
    for ub in range(0, 9):
        rev.append('%d[%d-9]-%d%d' % (t, ub + 1, t, ub) if ub + 1 < 9 else '%d9-%d8' % (t, t))
for ub in range(0, 9):                               # single digits
    rev.append('0?[%d-9]-0?%d' % (ub + 1, ub) if ub + 1 < 9 else '0?9-0?8')
# names (with numbers on either side)
def val_re(v, names, base):
    return alt([num(v), names[v - base]])
for names, base in ((MONTHS, 1), (DAYS, 0)):
    for a in range(base + 1, base + len(names)):
        lower = alt([num(b) for b in range(base, a)] + [names[b - base] for b in range(base, a)])
        rev.append('(?i:' + val_re(a, names, base) + '-' + lower + ')')
REVERSED = B + alt(rev) + E

# Never firing: the day-of-week field holds * or ? (so robfig/cron needs the day of month to
# match), every day-of-month element starts at 30 or 31, and every month of the month field
# has fewer days than that.
def month_val(v):
    return '(?i:' + alt([num(v), MONTHS[v - 1]]) + ')'

def month_subset(S):
    elems = []
    for a in sorted(S):
        for b in range(a, 13):
            D = b - a
            ok = [s for s in range(1, D + 1) if all(x in S for x in range(a, b + 1, s))]
            steps = alt([str(s) for s in ok] + [gt(D)]) if D > 0 else '[1-9][0-9]*'
            one = 1 in ok or D == 0
            A, Bv = month_val(a), month_val(b)
            if b == a:
                elems.append(A)                                  # a
            if one:
                elems.append(A + '-' + Bv)                       # a-b
            elems.append(A + '-' + Bv + '/' + steps)             # a-b/s
            if b == 12:
                elems.append(A + '/' + steps)                    # a/s runs to December
    e = alt(elems)
    return e + '(?:,' + e + ')*'

F = '[^[:blank:]]+'
SEP = '[[:blank:]]+'
DOWSTAR = '(?:[^[:blank:]]*,)?[*?](?:/1)?(?:,[^[:blank:]]*)?'
def never(dom, months):
    return '^ *' + F + SEP + F + SEP + dom + SEP + month_subset(months) + SEP + DOWSTAR + ' *$'
NEVER30 = never('3[01][^[:blank:],]*(?:,3[01][^[:blank:],]*)*', {2})
NEVER31 = never('31[^[:blank:],]*(?:,31[^[:blank:],]*)*', {2, 4, 6, 9, 11})

for regex in (REVERSED, NEVER30, NEVER31):
    assert not set(regex) & set('\'"\\'), 'the regex must fit in a CEL string inside a marker'
print("// +kubebuilder:validation:XValidation:rule=\"!self.matches('%s')\"" % REVERSED)
print("// +kubebuilder:validation:XValidation:rule=\"!self.matches('%s') && !self.matches('%s')\"" % (NEVER30, NEVER31))
