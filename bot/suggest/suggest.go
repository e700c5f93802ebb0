// Package suggest finds the known name closest to a mistyped one, for
// "did you mean" answers to unknown commands, jobs and projects.
package suggest

import "strings"

// Closest returns the candidate with the smallest edit distance to s, when
// that distance is at most a third of the longer word (at least 1), or ""
// when nothing is close. Ties go to the alphabetically first candidate, so
// the answer does not depend on map order. Exported for plugins that
// suggest other names (job names).
func Closest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(strings.ToLower(s), strings.ToLower(c))
		limit := max(1, max(len([]rune(s)), len([]rune(c)))/3)
		if d > limit {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the optimal-string-alignment edit distance between a and b,
// in runes: insertions, deletions, substitutions and swaps of two adjacent
// runes each cost 1, since a swap ("pnig") is the commonest typo.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows: two back (for swaps), previous, current.
	back, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], back[j-2]+1)
			}
		}
		back, prev, cur = prev, cur, back
	}
	return prev[len(rb)]
}
