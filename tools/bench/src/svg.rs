//! The load curves as a line chart: offered rate (log scale) against latency (log
//! scale), p50 solid and p99 dashed, one colour per curve. Plain SVG text.

use std::fmt::Write;

use crate::curves::Curve;

const W: f64 = 800.0;
const H: f64 = 440.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 240.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 52.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Powers of ten, and 2× and 5× of them, covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v >= lo * 0.9999 && v <= hi * 1.0001 {
                out.push(v);
            }
        }
        e += 1;
    }
    out
}

fn label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

pub fn chart(title: &str, curves: &[Curve]) -> String {
    let points = || curves.iter().flat_map(|c| c.points.iter());
    let x_lo = points().map(|p| p.offered).fold(f64::INFINITY, f64::min);
    let x_hi = points().map(|p| p.offered).fold(0.0, f64::max);
    let y_lo = points().map(|p| p.p50_ms).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let y_hi = points().map(|p| p.p99_ms).fold(0.0, f64::max);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(out, r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#, esc(title));
    if !x_lo.is_finite() || !y_lo.is_finite() || x_hi <= 0.0 {
        let _ = writeln!(out, r#"<text x="{LEFT}" y="60">no points</text></svg>"#);
        return out;
    }
    // Round the ranges out to whole decades on y, a little margin on x.
    let (x_lo, x_hi) = (x_lo / 1.2, x_hi * 1.2);
    let y_lo = 10f64.powf(y_lo.log10().floor());
    let y_hi = 10f64.powf(y_hi.max(y_lo * 10.0).log10().ceil());
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = |v: f64| LEFT + (v.ln() - x_lo.ln()) / (x_hi.ln() - x_lo.ln()) * pw;
    let y = |v: f64| TOP + ph - (v.max(y_lo).ln() - y_lo.ln()) / (y_hi.ln() - y_lo.ln()) * ph;
    let _ = writeln!(out, r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>"##);
    for t in ticks(y_lo, y_hi) {
        let yy = y(t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0,
            label(t)
        );
    }
    let mut rates: Vec<f64> = points().map(|p| p.offered).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    for r in rates {
        let xx = x(r);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}" stroke="#e5e5e5"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 16.0,
            label(r)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">offered requests per second (open loop, log scale)</text>"#,
        LEFT + pw / 2.0,
        H - 12.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">latency ms (log scale)</text>"#,
        TOP + ph / 2.0
    );
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for (dash, pick) in [("", 50), (r#" stroke-dasharray="6 4""#, 99)] {
            let path: Vec<String> = c
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.offered), y(if pick == 50 { p.p50_ms } else { p.p99_ms })))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{}"{dash}/>"#,
                path.join(" "),
                if c.raw { 1.5 } else { 2.5 }
            );
            for p in &c.points {
                let v = if pick == 50 { p.p50_ms } else { p.p99_ms };
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="{}" stroke="{colour}"/>"#,
                    x(p.offered),
                    y(v),
                    if p.saturated { 4 } else { 2 },
                    if p.saturated { "white" } else { colour }
                );
            }
        }
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = LEFT + pw + 14.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&c.name)
        );
    }
    let ly = TOP + 20.0 + curves.len() as f64 * 20.0;
    let lx = LEFT + pw + 14.0;
    let _ = writeln!(
        out,
        r##"<text x="{lx:.1}" y="{ly:.1}" fill="#444">solid: p50, dashed: p99</text><text x="{lx:.1}" y="{:.1}" fill="#444">open circle: saturated</text>"##,
        ly + 16.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::Point;

    #[test]
    fn a_chart_has_a_line_per_percentile_and_a_legend_entry_per_curve() {
        let p = |offered: f64, p50_ms: f64| Point {
            offered,
            sent: 1,
            ok: 1,
            errors: 0,
            achieved: offered,
            p50_ms,
            p99_ms: p50_ms * 2.0,
            max_ms: p50_ms * 3.0,
            ddb_cores: 0.1,
            saturated: offered > 100.0,
        };
        let curves = vec![
            Curve { name: "pos-bill".into(), raw: false, points: vec![p(25.0, 3.0), p(50.0, 3.5), p(200.0, 80.0)] },
            Curve { name: "raw <bill>".into(), raw: true, points: vec![p(25.0, 2.0), p(50.0, 2.1)] },
        ];
        let svg = chart("t", &curves);
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("raw &lt;bill&gt;"));
        assert!(svg.ends_with("</svg>\n"));
        assert!(!svg.contains("NaN"));
    }
}
