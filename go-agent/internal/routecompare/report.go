package routecompare

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteTable prints one line per route.
func WriteTable(w io.Writer, routes []RouteStats) error {
	split, dbSplit := SplitPercents(routes), DBSplitPercents(routes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\trequests\tsuccess %\tp50 ms\tp95 ms\tp99 ms\trecords/s\tsplit %\tdb rows\tdb split %\t")
	for i, r := range routes {
		rows := "-"
		if r.DB != nil {
			rows = fmt.Sprint(r.DB.Rows)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Route, r.Requests, num(r.SuccessPercent(), 2),
			num(r.Quantile(0.50), 2), num(r.Quantile(0.95), 2), num(r.Quantile(0.99), 2),
			num(r.RecordsPerSecond(), 1), num(split[i], 1), rows, num(dbSplit[i], 1))
	}
	return tw.Flush()
}

func num(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

// WriteSVG draws grouped bars of p50/p95/p99 per route and a stacked bar of the split.
func WriteSVG(w io.Writer, title string, routes []RouteStats) error {
	const width, height = 720, 420
	const left, top, chartW, chartH = 70.0, 50.0, 600.0, 240.0
	colors := []string{"#4e79a7", "#f28e2b", "#e15759"}
	routeColors := []string{"#59a14f", "#b07aa1", "#76b7b2", "#edc948"}
	quantiles := []float64{0.50, 0.95, 0.99}

	maxMs := 0.0
	for _, r := range routes {
		for _, q := range quantiles {
			if v := r.Quantile(q); !math.IsNaN(v) {
				maxMs = math.Max(maxMs, v)
			}
		}
	}
	scaleMax := niceCeil(maxMs)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" text-anchor="middle" font-size="16">%s</text>`+"\n", width/2, html.EscapeString(title))
	// Axis and gridlines, 5 steps.
	for i := 0; i <= 5; i++ {
		v := scaleMax * float64(i) / 5
		y := top + chartH - chartH*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, left+chartW, y)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, trimFloat(v))
	}
	fmt.Fprintf(&b, `<text x="16" y="%.0f" transform="rotate(-90 16 %.0f)" text-anchor="middle">latency, ms</text>`+"\n", top+chartH/2, top+chartH/2)

	groupW := chartW / float64(max(len(routes), 1))
	barW := groupW * 0.8 / float64(len(quantiles))
	for i, r := range routes {
		gx := left + groupW*float64(i) + groupW*0.1
		for j, q := range quantiles {
			v := r.Quantile(q)
			x := gx + barW*float64(j)
			label := "n/a"
			h := 0.0
			if !math.IsNaN(v) && scaleMax > 0 {
				h = chartH * v / scaleMax
				label = trimFloat(v)
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s p%.0f %s ms</title></rect>`+"\n",
				x, top+chartH-h, barW-2, h, colors[j], html.EscapeString(r.Route), q*100, label)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", x+barW/2-1, top+chartH-h-3, label)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", gx+barW*1.5, top+chartH+16, html.EscapeString(r.Route))
	}
	// Legend.
	for j, q := range quantiles {
		x := left + chartW - 210 + float64(j)*70
		fmt.Fprintf(&b, `<rect x="%.0f" y="34" width="10" height="10" fill="%s"/><text x="%.0f" y="43">p%.0f</text>`+"\n", x, colors[j], x+14, q*100)
	}
	// Split: one stacked bar of each route's share of requests.
	split := SplitPercents(routes)
	sy := top + chartH + 50
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">observed split (requests)</text>`+"\n", left, sy-8)
	x := left
	for i, r := range routes {
		if math.IsNaN(split[i]) || split[i] == 0 {
			continue
		}
		wd := chartW * split[i] / 100
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="28" fill="%s"/>`+"\n", x, sy, wd, routeColors[i%len(routeColors)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="white">%s %.1f%%</text>`+"\n", x+wd/2, sy+18, html.EscapeString(r.Route), split[i])
		x += wd
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black" stroke-dasharray="4 3"/>`+"\n", left+chartW/2, sy-4, left+chartW/2, sy+32)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, for a readable axis.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
