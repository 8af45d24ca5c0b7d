// Pure helpers of the dashboard: formatting and filtering, no DOM.
// Everything here returns plain strings; the caller inserts them with textContent.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** 1234567 -> "1,234,567"; null/undefined -> "0". */
export function formatCount(value) {
  return integer.format(Number(value ?? 0));
}

/** A rate with at most one decimal: 12.25 -> "12.3". */
export function formatRate(value) {
  return decimal.format(Number(value ?? 0));
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(value) {
  let size = Number(value ?? 0);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(size) : decimal.format(size)} ${units[unit]}`;
}

function pad(value, width = 2) {
  return String(value).padStart(width, "0");
}

/** ISO timestamp -> local "HH:MM:SS.mmm" (the table's time column). */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? "");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** ISO timestamp -> local "HH:MM:SS" (chart labels). */
export function formatClock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function endpoint(address, port) {
  if (!address) return "?";
  const host = address.includes(":") ? `[${address}]` : address;
  return port || port === 0 ? `${host}:${port}` : host;
}

function hasPorts(event) {
  const protocol = String(event.protocol ?? "").toUpperCase();
  return (protocol === "TCP" || protocol === "UDP" || protocol === "SCTP" || protocol === "UDPLITE") &&
    event.src_port != null && event.dst_port != null;
}

/** "10.0.0.1:1234 → 10.0.0.2:80", "[fe80::1] → [ff02::1]" (no ports), or "" for non-IP packets. */
export function formatFlow(event) {
  if (!event.src_addr && !event.dst_addr) return "";
  const ports = hasPorts(event);
  return `${endpoint(event.src_addr, ports ? event.src_port : null)} → ${endpoint(event.dst_addr, ports ? event.dst_port : null)}`;
}

/** The interface column: "eth0", or "if 7" when the name is unknown. */
export function formatInterface(event) {
  if (event.ifname) return event.ifname;
  return event.ifindex ? `if ${event.ifindex}` : "";
}

/** The protocol column, with ICMP type/code when present. */
export function formatProtocol(event) {
  const protocol = event.protocol || (event.ip_protocol != null ? `ip ${event.ip_protocol}` : "");
  if (event.icmp_type != null && /^ICMP/i.test(protocol)) {
    return `${protocol} ${event.icmp_type}/${event.icmp_code ?? 0}`;
  }
  return protocol;
}

/** The owner column: the container or unit, else "comm (pid)" of the socket's process, else its cgroup; "" without a socket. */
export function formatOwner(event) {
  if (event.container) return event.container;
  if (event.owner_pid != null) return `${event.owner_comm ?? "?"} (${event.owner_pid})`;
  return event.cgroup ?? "";
}

/** Decodes a hex string ("45000054", "45 00 00 54" or "45:00") into bytes; ignores anything that is not a hex pair. */
export function parseHex(hex) {
  const digits = String(hex ?? "").replace(/[^0-9a-fA-F]/g, "");
  const bytes = new Uint8Array(digits.length >> 1);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(digits.substr(i * 2, 2), 16);
  }
  return bytes;
}

/**
 * Classic hex dump, 16 bytes per line:
 * "0000  45 00 00 54 00 00 40 00  40 01 26 a7 0a 00 00 01  |E..T..@.@.&.....|"
 */
export function hexDump(hex) {
  const bytes = parseHex(hex);
  const lines = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hexPart = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) hexPart += " ";
      if (i < row.length) {
        hexPart += row[i].toString(16).padStart(2, "0") + " ";
        ascii += row[i] >= 0x20 && row[i] < 0x7f ? String.fromCharCode(row[i]) : ".";
      } else {
        hexPart += "   ";
      }
    }
    lines.push(`${offset.toString(16).padStart(4, "0")}  ${hexPart} |${ascii}|`);
  }
  return lines.join("\n");
}

/** A key that identifies an event across reconnects (ids restart when the server restarts). */
export function eventKey(event) {
  return `${event.id}|${event.timestamp}`;
}

/** The text the free-text filter searches, lower case. */
export function searchText(event) {
  return [
    event.reason, event.reason_code, event.location, event.protocol, event.src_addr, event.dst_addr,
    event.src_port, event.dst_port, event.ifname, event.ifindex, event.comm, event.pid, formatFlow(event),
    event.owner_comm, event.owner_pid, event.container, event.cgroup, event.netns_name,
  ].filter((part) => part != null && part !== "").join(" ").toLowerCase();
}

/**
 * Does an event pass the table's filters?
 * filter: { reason: "" | NAME, protocol: "" | NAME, text: "", hideUnspecified: bool }
 */
export function eventMatches(event, filter) {
  if (filter.reason && event.reason !== filter.reason) return false;
  if (filter.protocol && (event.protocol || "") !== filter.protocol) return false;
  if (filter.hideUnspecified && event.reason === "NOT_SPECIFIED") return false;
  if (filter.text) {
    const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
    const haystack = searchText(event);
    for (const word of words) {
      if (!haystack.includes(word)) return false;
    }
  }
  return true;
}

/** A blind-spot counter {total, per_second}: "1,234" or "1,234 · 12/s" while it moves. */
export function formatCounterRate(counter) {
  const total = formatCount(counter?.total);
  const rate = Number(counter?.per_second ?? 0);
  return rate > 0 ? `${total} · ${formatRate(rate)}/s` : total;
}

/**
 * Drops per second the kfree_skb hook may not see, from `blind_spots`: every device's rx/tx dropped and
 * rx missed plus the softnet backlog drops. null when the server sends no blind spots.
 */
export function unseenDropRate(blindSpots) {
  if (!blindSpots || typeof blindSpots !== "object") return null;
  const all = blindSpots.all_interfaces ?? {};
  return ["rx_dropped", "tx_dropped", "rx_missed"].reduce((sum, name) => sum + (Number(all[name]?.per_second) || 0), 0) +
    (Number(blindSpots.softnet?.dropped?.per_second) || 0);
}

/**
 * The query string of GET /api/events.pcapng for the table's filters, as far as the server can apply them:
 * the reason, the protocol (not "other": no server filter means "no IP header"), and the search text when it
 * is one address, CIDR block or port number. Other search words and "Hide NOT_SPECIFIED" stay table-only.
 */
export function pcapngQuery(filter) {
  const query = new URLSearchParams();
  if (filter.reason) query.set("reason", filter.reason);
  if (filter.protocol && filter.protocol !== "other") query.set("protocol", filter.protocol);
  const text = String(filter.text ?? "").trim();
  const ipv4 = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(text);
  const ipv6 = /^[0-9a-f:]+(\/\d{1,3})?$/i.test(text) && text.split(":").length > 2;
  if (/^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535) query.set("port", text);
  else if (ipv4 || ipv6) query.set("host", text);
  return query.toString();
}
