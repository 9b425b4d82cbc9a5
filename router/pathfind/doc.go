// Package pathfind finds payment routes through the channel graph and
// learns from the outcome of every attempt.
//
// FindRoute searches backwards, from the payee to the payer, because the
// amount and time lock each hop needs depend on everything after it: the
// payee's amount and final CLTV delta are known, and every step towards
// the payer adds that hop's fee and CLTV delta. The search is Dijkstra's
// over a cost that adds the fees, a penalty for locking the amount for
// longer (the time-lock risk), and the expected cost of a failed attempt,
// which grows as the route's success probability falls.
//
// MissionControl supplies that probability. It remembers, per ordered
// pair of nodes, the largest amount that went through and the smallest
// that failed; what it remembers fades with a configurable half-life, back
// towards an a-priori estimate. It has no clock: every call takes the
// current time.
package pathfind
