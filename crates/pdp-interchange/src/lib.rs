//! File formats PDP reads and writes for people rather than programs:
//! catalog templates in CSV and XLSX. (Import and export land with issue 3.)
