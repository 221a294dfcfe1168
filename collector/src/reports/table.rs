//! A report flattened into rows of text: what CSV exports and the command line prints.

use crate::Error;

/// One table of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name, as `?table=` picks it for a CSV export.
    pub name: &'static str,
    /// The column names.
    pub header: Vec<&'static str>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(name: &'static str, header: &[&'static str]) -> Table {
        Table { name, header: header.to_vec(), rows: Vec::new() }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.header.len(), "row of table `{}`", self.name);
        self.rows.push(row);
    }

    /// The table as CSV (RFC 4180, with a header row).
    pub fn csv(&self) -> Result<String, Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let written = writer
            .write_record(&self.header)
            .and_then(|()| self.rows.iter().try_for_each(|row| writer.write_record(row)));
        written.map_err(|error| Error::Csv(error.to_string()))?;
        let bytes = writer.into_inner().map_err(|error| Error::Csv(error.to_string()))?;
        String::from_utf8(bytes).map_err(|error| Error::Csv(error.to_string()))
    }

    /// The table for a terminal: a title line, then columns padded to their widest cell,
    /// numbers aligned right.
    pub fn text(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }

        let mut out = format!("{}\n", self.name);
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &width)| {
                    if is_number(cell) {
                        format!("{cell:>width$}")
                    } else {
                        format!("{cell:<width$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty() && cell.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut table = Table::new("t", &["name", "n"]);
        table.push(vec!["a, \"b\"".to_string(), "2".to_string()]);
        assert_eq!(table.csv().unwrap(), "name,n\n\"a, \"\"b\"\"\",2\n");
    }

    #[test]
    fn text_aligns_numbers_right() {
        let mut table = Table::new("t", &["step", "reached"]);
        table.push(vec!["Landing".to_string(), "120".to_string()]);
        table.push(vec!["Cart".to_string(), "7".to_string()]);
        assert_eq!(table.text(), "t\nstep     reached\nLanding      120\nCart           7\n");
    }
}
