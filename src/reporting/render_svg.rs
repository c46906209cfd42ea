//! A report as an SVG bar chart of its first group's score (or first count): by age band
//! and sex when both are stratified (grouped bars), by month as a trend, by the first
//! stratify key otherwise, or one bar per group. Suppressed values are marked, not drawn.

use super::model::{Group, Report, Role, Val};
use super::params::Key;
use super::render_csv::number;

/// What is drawn.
struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    categories: Vec<String>,
    /// (series name, one value per category).
    series: Vec<(String, Vec<Val>)>,
}

const COLOURS: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn metric(group: &Group) -> (usize, String) {
    match group.score_col() {
        Some(i) => (
            i,
            if group.unit.is_empty() {
                group.columns[i].name.to_string()
            } else {
                format!("{} ({})", group.columns[i].name, group.unit)
            },
        ),
        None => {
            let i = group
                .columns
                .iter()
                .position(|c| matches!(c.role, Role::Population(_)))
                .unwrap_or(0);
            (i, group.columns[i].name.to_string())
        }
    }
}

fn chart_of(report: &Report) -> Chart {
    let title = format!("{}, {} to {}", report.title, report.start, report.end);
    // the age × sex pair when there is one, else a monthly trend, else the first group
    let pair_of = |g: &Group| {
        g.stratifiers.iter().any(|s| {
            s.keys.len() == 2 && s.keys.contains(&Key::AgeBand) && s.keys.contains(&Key::Sex)
        })
    };
    let month_of = |g: &Group| g.stratifiers.iter().any(|s| s.keys == [Key::Month]);
    let chosen = report
        .groups
        .iter()
        .find(|g| pair_of(g))
        .or_else(|| report.groups.iter().find(|g| month_of(g)))
        .or_else(|| report.groups.first());
    let Some(group) = chosen else {
        return Chart {
            title,
            x_label: String::new(),
            y_label: String::new(),
            categories: Vec::new(),
            series: Vec::new(),
        };
    };
    let (col, y_label) = metric(group);
    let pair = group.stratifiers.iter().find(|s| {
        s.keys.len() == 2 && s.keys.contains(&Key::AgeBand) && s.keys.contains(&Key::Sex)
    });
    if let Some(s) = pair {
        let band = s.keys.iter().position(|k| *k == Key::AgeBand).unwrap_or(0);
        let sex = 1 - band;
        let mut categories: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for st in &s.strata {
            if !categories.contains(&st.values[band]) {
                categories.push(st.values[band].clone());
            }
            if !names.contains(&st.values[sex]) {
                names.push(st.values[sex].clone());
            }
        }
        names.sort();
        let series = names
            .into_iter()
            .map(|name| {
                let values = categories
                    .iter()
                    .map(|c| {
                        s.strata
                            .iter()
                            .find(|st| &st.values[band] == c && st.values[sex] == name)
                            .map_or(Val::Missing, |st| st.cells[col])
                    })
                    .collect();
                (name, values)
            })
            .collect();
        return Chart {
            title: group.label.clone(),
            x_label: "age band (years)".into(),
            y_label,
            categories,
            series,
        };
    }
    let single = group
        .stratifiers
        .iter()
        .find(|s| s.keys == [Key::Month])
        .or_else(|| group.stratifiers.iter().find(|s| s.keys.len() == 1));
    if let Some(s) = single {
        return Chart {
            title: group.label.clone(),
            x_label: s.keys[0].name().to_string(),
            y_label,
            categories: s.strata.iter().map(|st| st.values[0].clone()).collect(),
            series: vec![(
                group.columns[col].name.to_string(),
                s.strata.iter().map(|st| st.cells[col]).collect(),
            )],
        };
    }
    Chart {
        title,
        x_label: "group".into(),
        y_label,
        categories: report.groups.iter().map(|g| g.id.clone()).collect(),
        series: vec![(
            "total".into(),
            report
                .groups
                .iter()
                .map(|g| metric(g).0)
                .zip(&report.groups)
                .map(|(i, g)| g.total[i])
                .collect(),
        )],
    }
}

/// A round axis maximum at or above `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|m| *m >= max)
        .unwrap_or(10.0 * magnitude)
}

/// The SVG document of `report`.
pub fn svg(report: &Report) -> String {
    let chart = chart_of(report);
    let (width, height) = (860.0, 480.0);
    let rotate = chart.categories.len() > 8;
    let (left, right, top, bottom) = (80.0, 160.0, 50.0, if rotate { 110.0 } else { 90.0 });
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = chart
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().filter_map(|x| x.num()))
        .fold(0.0f64, f64::max);
    let y_max = nice_max(max);
    let y = |v: f64| top + plot_h - v / y_max * plot_h;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        width / 2.0,
        escape(&chart.title)
    );
    for i in 0..=5 {
        let v = y_max * f64::from(i) / 5.0;
        out.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left + plot_w,
            left - 6.0,
            y(v) + 4.0,
            number((v * 1000.0).round() / 1000.0),
            y = y(v)
        ));
    }
    let n = chart.categories.len().max(1) as f64;
    let slot = plot_w / n;
    let series_n = chart.series.len().max(1) as f64;
    let bar = slot * 0.8 / series_n;
    for (ci, category) in chart.categories.iter().enumerate() {
        let x0 = left + slot * ci as f64 + slot * 0.1;
        for (si, (_, values)) in chart.series.iter().enumerate() {
            let x = x0 + bar * si as f64;
            match values.get(ci).copied().unwrap_or(Val::Missing) {
                Val::Num(v) => out.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>\n",
                    y(v),
                    bar.max(1.0) - 1.0,
                    (top + plot_h - y(v)).max(0.0),
                    COLOURS[si % COLOURS.len()],
                    escape(&number((v * 1000.0).round() / 1000.0))
                )),
                Val::Suppressed => out.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#999\">s</text>\n",
                    x + bar / 2.0,
                    top + plot_h - 4.0
                )),
                Val::Missing => {}
            }
        }
        let cx = left + slot * (ci as f64 + 0.5);
        let ty = top + plot_h + 16.0;
        if rotate {
            out.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" transform=\"rotate(-45 {cx:.1} {ty:.1})\">{}</text>\n",
                escape(category)
            ));
        } else {
            out.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text>\n",
                escape(category)
            ));
        }
    }
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" stroke=\"black\"/>\n<line x1=\"{left}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\" stroke=\"black\"/>\n",
        left + plot_w,
        b = top + plot_h
    ));
    out.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        left + plot_w / 2.0,
        height - 18.0,
        escape(&chart.x_label)
    ));
    out.push_str(&format!(
        "<text x=\"18\" y=\"{yc:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {yc:.1})\">{}</text>\n",
        escape(&chart.y_label),
        yc = top + plot_h / 2.0
    ));
    for (si, (name, _)) in chart.series.iter().enumerate() {
        let ly = top + 10.0 + 20.0 * si as f64;
        let lx = left + plot_w + 16.0;
        out.push_str(&format!(
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n<text x=\"{:.1}\" y=\"{ly:.1}\">{}</text>\n",
            ly - 10.0,
            COLOURS[si % COLOURS.len()],
            lx + 18.0,
            escape(name)
        ));
    }
    if report.suppression.is_some() {
        out.push_str(&format!(
            "<text x=\"{left}\" y=\"{:.1}\" fill=\"#666\">s = suppressed (fewer than {} cases)</text>\n",
            height - 4.0,
            report.suppression.unwrap_or_default()
        ));
    }
    out.push_str("</svg>\n");
    out
}
