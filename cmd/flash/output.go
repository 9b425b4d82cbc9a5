package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// field is one row of human-readable output.
type field struct {
	name  string
	value string
}

// writeFields prints name/value rows with aligned values.
func writeFields(w io.Writer, fields ...field) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\n", f.name, f.value)
	}
	_ = tw.Flush()
}

// output prints v as JSON with --json, else runs human.
func (a *app) output(v any, human func(w io.Writer)) {
	if a.jsonOut {
		writeJSON(a.stdout, v)
		return
	}
	human(a.stdout)
}

// formatSat renders an amount of satoshis with digit grouping and its
// value in BTC: "150,000 sat (0.00150000 BTC)".
func formatSat(sat int64) string {
	return fmt.Sprintf("%s sat (%s BTC)", groupDigits(sat), formatBTC(sat))
}

func formatBTC(sat int64) string {
	sign := ""
	if sat < 0 {
		sign, sat = "-", -sat
	}
	return fmt.Sprintf("%s%d.%08d", sign, sat/1e8, sat%1e8)
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
