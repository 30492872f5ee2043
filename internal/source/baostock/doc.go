// Package baostock is a client of Baostock (baostock.com), the free A-share data service
// spoken over its own TCP protocol, and the mapping of its answers into the warehouse's
// Tushare-shaped tables and units. Baostock answers one stock over any date range, so it
// is a range source: a batch fetches each stock once (FetchStock), then loads day by day.
//
// The protocol, as upstreams/README.md §2 records it ([V] = checked in the 0.9.1 Python
// client or the captured bytes in testdata/, which the golden tests replay):
//
//   - Every frame starts with a 21-byte header: VERSION(7) \x01 TYPE(2) \x01 BODYLEN(10,
//     zero-padded). Body fields are joined by \x01. The client version string is
//     configurable (Config.Version, BAOSTOCK_VERSION; the captures used "00.9.10").
//   - A request is header + body + \x01 + CRC + "\n", where CRC is the decimal IEEE
//     CRC-32 of header+body and BODYLEN counts the body's characters, not its bytes.
//   - A plain reply is header + body + \x01 + CRC + "<![CDATA[]]>\n"; its CRC is checked.
//     A compressed reply (type 96, k data; 99, 9B and 9D are accepted too) is header +
//     zlib(body) + \x01 + CRC + "\n<![CDATA[]]>\n" with BODYLEN in compressed bytes; its
//     CRC matches nothing known and is not checked, as the Python client does not.
//   - A reply is read until that end marker, within a per-call deadline and a size cap:
//     a connection that closes or sends garbage mid-frame is an error, never a hang.
//   - Bodies: code \x01 msg \x01 method \x01 user \x01 page \x01 perPage \x01
//     {"record":[[…]]} \x01 the request's arguments and the field list. Values are
//     strings and "" is null. Errors come as type 04 with body code \x01 msg.
//   - Paged queries are sent again with page+1 until a page has no record.
//   - The session belongs to the connection: log in (type 00) first, log in again after
//     reconnecting or on 10001001. Baostock blacklists an IP that opens parallel
//     connections for about a day (10001011), so a Client keeps one connection and sends
//     one request at a time; the blacklist error matches market.ErrSourceRefused.
//
// Where the Python client strips every whitespace character from the record JSON, this
// one strips only those JSON forbids inside strings, so names keep their spaces (see
// parseRecords). The fake server in baostocktest speaks the same frames.
package baostock
