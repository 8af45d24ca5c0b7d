// Unit tests of the dashboard's pure helpers: node --test (npm test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventMatches, formatCounterRate, formatFlow, formatOwner, formatProtocol, hexDump, parseHex, pcapngQuery, unseenDropRate } from "../src/format.js";

const tcp = { id: 1, timestamp: "2025-01-01T00:00:00Z", reason: "TCP_INVALID_SEQUENCE", protocol: "TCP", src_addr: "10.0.0.1", dst_addr: "10.0.0.2", src_port: 1234, dst_port: 80, ifname: "veth0", comm: "curl" };
const noFilter = { reason: "", protocol: "", text: "", hideUnspecified: false };

test("formatFlow_TcpIpv4_ShowsAddressesAndPorts", () => {
  assert.equal(formatFlow(tcp), "10.0.0.1:1234 → 10.0.0.2:80");
});

test("formatFlow_Ipv6WithoutPorts_BracketsAddresses", () => {
  assert.equal(formatFlow({ protocol: "ICMPv6", src_addr: "fe80::1", dst_addr: "ff02::1", src_port: 0, dst_port: 0 }), "[fe80::1] → [ff02::1]");
});

test("formatFlow_NoAddresses_IsEmpty", () => {
  assert.equal(formatFlow({ protocol: "other" }), "");
});

test("formatProtocol_Icmp_AppendsTypeAndCode", () => {
  assert.equal(formatProtocol({ protocol: "ICMP", icmp_type: 8, icmp_code: 0 }), "ICMP 8/0");
});

test("hexDump_TwentyBytes_TwoLinesOf16WithOffsetsAndAscii", () => {
  const lines = hexDump("4500001c" + "00".repeat(12) + "41424344").split("\n");
  assert.equal(lines.length, 2);
  assert.equal(lines[0], "0000  45 00 00 1c 00 00 00 00  00 00 00 00 00 00 00 00  |E...............|");
  assert.equal(lines[1], "0010  41 42 43 44                                       |ABCD|");
});

test("parseHex_SeparatorsAndOddDigits_AreIgnored", () => {
  assert.deepEqual([...parseHex("45:00 0a-f")], [0x45, 0x00, 0x0a]);
});

test("eventMatches_Filters_NarrowByReasonProtocolTextAndUnspecified", () => {
  assert.ok(eventMatches(tcp, noFilter));
  assert.ok(eventMatches(tcp, { ...noFilter, reason: "TCP_INVALID_SEQUENCE" }));
  assert.ok(!eventMatches(tcp, { ...noFilter, reason: "NO_SOCKET" }));
  assert.ok(!eventMatches(tcp, { ...noFilter, protocol: "UDP" }));
  assert.ok(eventMatches(tcp, { ...noFilter, text: "VETH0 curl" }));
  assert.ok(eventMatches(tcp, { ...noFilter, text: "10.0.0.2:80" }));
  assert.ok(!eventMatches(tcp, { ...noFilter, text: "wget" }));
  assert.ok(!eventMatches({ ...tcp, reason: "NOT_SPECIFIED" }, { ...noFilter, hideUnspecified: true }));
});

test("formatCounterRate_Moving_ShowsTotalAndRate", () => {
  assert.equal(formatCounterRate({ total: 1234, per_second: 12.25 }), "1,234 · 12.3/s");
});

test("formatCounterRate_Still_ShowsTotalOnly", () => {
  assert.equal(formatCounterRate({ total: 7, per_second: 0 }), "7");
  assert.equal(formatCounterRate(undefined), "0");
});

test("unseenDropRate_SumsDeviceAndSoftnetDrops", () => {
  const blind = {
    all_interfaces: { rx_dropped: { per_second: 1 }, tx_dropped: { per_second: 2 }, rx_missed: { per_second: 3 }, rx_fifo: { per_second: 100 } },
    softnet: { dropped: { per_second: 4 }, time_squeeze: { per_second: 50 } },
  };
  assert.equal(unseenDropRate(blind), 10); // fifo overruns and time squeezes are not packet drops
  assert.equal(unseenDropRate(null), null);
});

test("pcapngQuery_NoFilter_IsEmpty", () => {
  assert.equal(pcapngQuery(noFilter), "");
});

test("pcapngQuery_ReasonAndProtocol_AreServerFilters", () => {
  assert.equal(pcapngQuery({ ...noFilter, reason: "NO_SOCKET", protocol: "UDP" }), "reason=NO_SOCKET&protocol=UDP");
});

test("pcapngQuery_ProtocolOther_IsLeftToTheTable", () => {
  assert.equal(pcapngQuery({ ...noFilter, protocol: "other" }), "");
});

test("pcapngQuery_SearchForAnAddressOrPort_BecomesHostOrPort", () => {
  assert.equal(pcapngQuery({ ...noFilter, text: " 10.0.0.1 " }), "host=10.0.0.1");
  assert.equal(pcapngQuery({ ...noFilter, text: "10.0.0.0/8" }), "host=10.0.0.0%2F8");
  assert.equal(pcapngQuery({ ...noFilter, text: "2001:db8::1" }), "host=2001%3Adb8%3A%3A1");
  assert.equal(pcapngQuery({ ...noFilter, text: "443" }), "port=443");
});

test("pcapngQuery_OtherSearchTextAndHideUnspecified_StayTableOnly", () => {
  assert.equal(pcapngQuery({ ...noFilter, text: "curl", hideUnspecified: true }), "");
  assert.equal(pcapngQuery({ ...noFilter, text: "70000" }), "");
  assert.equal(pcapngQuery({ ...noFilter, text: "a:b" }), "");
});

const owned = { ...tcp, owner_pid: 4242, owner_comm: "nginx", cgroup: "/system.slice/docker-3f4e.scope", container: "docker:3f4e5a6b7c8d", netns_name: "blue" };

test("formatOwner_PrefersContainerThenProcessThenCgroup", () => {
  assert.equal(formatOwner(owned), "docker:3f4e5a6b7c8d");
  assert.equal(formatOwner({ ...owned, container: null }), "nginx (4242)");
  assert.equal(formatOwner({ ...owned, container: null, owner_pid: null }), "/system.slice/docker-3f4e.scope");
  assert.equal(formatOwner(tcp), "");
});

test("eventMatches_Text_FindsOwnerContainerAndNamespaceName", () => {
  assert.ok(eventMatches(owned, { ...noFilter, text: "nginx" }));
  assert.ok(eventMatches(owned, { ...noFilter, text: "docker:3f4e blue" }));
  assert.ok(eventMatches(owned, { ...noFilter, text: "4242" }));
  assert.ok(!eventMatches(tcp, { ...noFilter, text: "blue" }));
});
