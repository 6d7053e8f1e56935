// The page's words that come from docs/reference.md: the fault classes as its "Fault classes" table words
// them (tests/html_report_test.cpp checks each row against README), verify's kinds, exit statuses.
// Written into the page's one script element ahead of page.js.
var CYRCONV_WORDS = {
  faults: {  // kind: [level, found by, severity, what the repair policy does]
    message_file_missing: ['file', 'directory listing', 'error', 'report; counted as missing'],
    orphan_message_file: ['file', 'directory listing', 'warning', 'recover into <folder>/Recovered-Orphans'],
    zero_length: ['file', 'read', 'error', 'quarantine'],
    size_mismatch: ['file', 'read vs index size', 'error', 'quarantine'],
    sha1_mismatch: ['file', 'SHA-1 vs index GUID (v10 with GUIDs, v12+; same size only)', 'error', 'quarantine'],
    message_unreadable: ['file', 'read error', 'error', 'quarantine'],
    duplicate_index_record: ['index', 'a second live record with a UID already seen (file read once)', 'error', 'quarantine the duplicate'],
    index_uid_not_ascending: ['index', 'records duplicated or out of UID order', 'error', 'write (output sorted by UID)'],
    index_uid_above_last_uid: ['index', 'UID > last_uid', 'error', 'write'],
    index_record_crc_mismatch: ['index', 'v12+ record CRC', 'error', 'write (the file is still checked against size and GUID)'],
    index_header_crc_mismatch: ['index', 'v12+ header CRC', 'error', 'write'],
    index_truncated: ['index', 'file shorter than the counted records', 'error', 'lost records\' files become orphans: recovered'],
    nul_bytes: ['message', 'NUL bytes', 'warning', 'repair: remove them'],
    bare_cr: ['message', 'CR not followed by LF', 'warning', 'repair: the output\'s line end'],
    bare_lf: ['message', 'every line ends in bare LF', 'warning', 'repair: the output\'s line end'],
    mixed_line_endings: ['message', 'CRLF and bare LF (Cyrus stores these for BINARY literals)', 'warning', 'repair: the output\'s line end'],
    no_blank_line_after_header: ['message', 'header runs into the body', 'warning', 'repair: insert the blank line'],
    header_line_not_field: ['message', 'a header line that is neither a field nor a continuation', 'warning', 'write unchanged'],
    line_too_long: ['message', 'line over 998 octets', 'warning', 'write unchanged'],
    header_8bit: ['message', '8-bit bytes in top-level header fields', 'warning', 'write unchanged'],
    mime_missing_boundary: ['message (--deep)', 'multipart without a boundary parameter', 'warning', 'write unchanged'],
    mime_boundary_not_found: ['message (--deep)', 'multipart whose boundary never occurs', 'warning', 'write unchanged'],
    mime_unclosed_multipart: ['message (--deep)', 'no close delimiter (or closed by an outer boundary)', 'warning', 'write unchanged'],
    mime_bad_base64: ['message (--deep)', 'base64 body with foreign characters, data after padding, or a lone final character', 'warning', 'write unchanged'],
    missing_date: ['message', 'header field absent', 'warning', 'write unchanged'],
    missing_from: ['message', 'header field absent', 'warning', 'write unchanged'],
    missing_message_id: ['message', 'header field absent', 'warning', 'write unchanged'],
    bad_date: ['message', 'first Date field is not an RFC 5322 date-time', 'warning', 'write unchanged'],
    bad_address: ['message', 'first From, To or Cc field does not parse as addresses (one finding for the three)', 'warning', 'write unchanged'],
    bad_message_id: ['message', 'first Message-ID field is not one <id-left@id-right>', 'warning', 'write unchanged']
  },
  // verify's kinds (README "cyrconv verify"); every other mismatch kind gets the general sentence.
  verify_kinds: {
    lost_message: 'a source message neither in the output nor listed in the manifest: lost',
    extra_message: 'an output message no source message accounts for (mail delivered after the cutover); never an error',
    not_verified: 'a calendar or addressbook export: listed, not checked'
  },
  // README "Exit statuses"
  exit_meaning: {
    0: 'done; nothing wrong found',
    1: 'done; problems found and listed below',
    2: 'usage error',
    3: 'input missing or unusable, or refused',
    4: 'stopped early (disk full): run the same command again to resume'
  }
};
