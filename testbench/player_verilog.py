"""The stream player's testbench: Verilog, generated per configuration, that drives the
engine's four streams from files and records what comes back, with no Python in the loop.

It follows the rules of :mod:`zeroskip.testbench.endpoints` cycle for cycle, so the two
harnesses give the same cycle counts, stalled runs included: everything happens at the
falling clock edge (the engine's outputs come from registers, so what is read there is what
the next rising edge sees). A source accounts the transfer of the previous edge, keeps a word
on offer until it is taken, and otherwise draws a pause (only while it has words left); the
sink draws one pause every cycle. Cycles are counted from the command's transfer to the last
result's, both included. A case that ends without its last result (its cycle budget or idle
limit reached) is followed by three cycles of reset, so later cases still run.

Files (:mod:`zeroskip.testbench.player_files` writes and reads them, in the run folder the
simulator starts in):

``player.manifest``
    A header ``zeroskip-player <format> <config digest> <payload widths> <cases>``, checked
    against the ones this testbench was generated for, then one line per case: the words
    of each input stream, the cycle budget, the idle limit, whether each stream pauses and
    where its pause bits start.
``cmd.bin``, ``weights.bin``, ``activations.bin``
    Every case's payload words in order, each big-endian in whole bytes; read in chunks.
``pause_<stream>.bin``
    Pause bits, least significant first within each byte, from each case's offset.
``results.hex`` (written)
    One result payload per line, in hexadecimal, in arrival order.
``player.report`` (written)
    One line per case: how it ended, the command and last-result cycles, and per stream the
    words it moved, the cycle of its last transfer and its handshake at the end (for an
    input: a word on offer, the engine ready; for results: a row on offer, the sink ready).
"""

__all__ = ["PLAYER_FORMAT", "PLAYER_TOP", "END_REASONS", "player_verilog", "payload_widths"]

# Bump when the files' layout changes; the manifest carries it and the testbench checks it.
PLAYER_FORMAT = 1
PLAYER_TOP = "zeroskip_player"
# How a case can end, as the report's second field gives it.
END_REASONS = ("done", "budget", "idle", "data")

_CHUNK = 1024


def payload_widths(cfg):
    """Bits of the ``cmd``, ``weights``, ``activations`` and ``results`` payloads."""
    from zeroskip.hdl.layouts import stream_layouts

    return {name: layout.size for name, layout in stream_layouts(cfg).items()}


def _source(name, short, index):
    """Per-cycle code of one input stream's source (at the falling edge, in a case)."""
    return f"""
      // {name}: account last edge's transfer, keep an unaccepted word on offer, else
      // offer the next word unless a pause is drawn.
      {short}_xfer = {short}_valid && {short}_seen;
      if ({short}_xfer) begin
        {short}_sent = {short}_sent + 1; {short}_pos = {short}_pos + 1;
        {short}_last = cyc; idle = 0;
      end
      if (!({short}_valid && !{short}_xfer)) begin
        if ({short}_sent < {short}_total && !draw_pause({index})) begin
          if ({short}_pos == {short}_avail) begin
            rc = $fread({short}_mem, f_{short}, 0, CHUNK);
            {short}_avail = rc / {short.upper()}B8; {short}_pos = 0;
          end
          if ({short}_avail == 0) begin
            short_data = 1; {short}_valid = 1'b0;
          end else begin
            {short}_valid = 1'b1; {short}_payload = {short}_mem[{short}_pos][{short.upper()}W-1:0];
          end
        end else begin
          {short}_valid = 1'b0;
        end
      end
      {short}_seen = {short}_ready;"""


def _dut(cfg):
    """The engine's instance: its own ports, or (``cfg.interface = "axis"``) the AXI4-Stream
    top's, each native payload split into ``tdata`` (zero-padded to whole bytes) and
    ``tlast``. The top is wiring, so the player's cycle counts are the same either way."""
    if cfg.interface != "axis":
        return f"""  {cfg.name} dut (
    .clk(clk), .rst(rst), .busy(busy),
    .cmd__valid(c_valid), .cmd__ready(c_ready), .cmd__payload(c_payload),
    .weights__valid(w_valid), .weights__ready(w_ready), .weights__payload(w_payload),
    .activations__valid(a_valid), .activations__ready(a_ready),
    .activations__payload(a_payload),
    .results__valid(r_valid), .results__ready(r_ready), .results__payload(r_payload));"""
    from zeroskip.hdl.axis import axis_payload_bits, tdata_width

    lines, ports = [], [".aclk(clk)", ".aresetn(!rst)", ".busy(busy)"]
    for (prefix, (bits, has_last)), short in zip(axis_payload_bits(cfg).items(), "cwar"):
        width = tdata_width(bits)
        payload = f"{short}_payload"
        if prefix.startswith("m_"):
            lines.append(f"  wire [{width - 1}:0] {short}_tdata;")
            lines.append(f"  wire {short}_tlast;")
            lines.append(f"  assign {payload} = {{{short}_tlast, {short}_tdata[{bits - 1}:0]}};")
            ports += [f".{prefix}_tvalid({short}_valid)", f".{prefix}_tready({short}_ready)",
                      f".{prefix}_tdata({short}_tdata)", f".{prefix}_tlast({short}_tlast)"]
            continue
        lines.append(f"  wire [{width - 1}:0] {short}_tdata = {payload}[{bits - 1}:0];")
        ports += [f".{prefix}_tvalid({short}_valid)", f".{prefix}_tready({short}_ready)",
                  f".{prefix}_tdata({short}_tdata)"]
        if has_last:
            ports.append(f".{prefix}_tlast({payload}[{bits}])")
    body = ",\n    ".join(ports)
    return "\n".join(lines) + f"\n  {cfg.name} dut (\n    {body});"


def player_verilog(cfg):
    """The testbench module :data:`PLAYER_TOP` for the engine of ``cfg`` (module
    ``cfg.name`` of :func:`~zeroskip.hdl.verilog.generate_verilog`)."""
    w = payload_widths(cfg)
    sources = "".join(_source(name, short, i) for i, (name, short) in
                      enumerate((("cmd", "c"), ("weights", "w"), ("activations", "a"))))
    digest = cfg.digest()
    return f"""// zeroskip stream player for engine {cfg.name} (configuration {digest}).
// Generated by zeroskip.testbench.player_verilog; see that module for the file formats.
`timescale 1ns/1ps
module {PLAYER_TOP};
  localparam integer CW = {w['cmd']}, WW = {w['weights']}, AW = {w['activations']};
  localparam integer RW = {w['results']};
  localparam integer CB8 = (CW + 7) / 8, WB8 = (WW + 7) / 8, AB8 = (AW + 7) / 8;
  localparam integer CHUNK = {_CHUNK};
  localparam [8*16-1:0] DIGEST = "{digest}";

  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;

  reg c_valid = 1'b0, w_valid = 1'b0, a_valid = 1'b0, r_ready = 1'b0;
  reg [CW-1:0] c_payload = 0;
  reg [WW-1:0] w_payload = 0;
  reg [AW-1:0] a_payload = 0;
  wire c_ready, w_ready, a_ready, r_valid, busy;
  wire [RW-1:0] r_payload;

{_dut(cfg)}

  // Payload words and pause bits, read from the files in chunks.
  reg [8*CB8-1:0] c_mem [0:CHUNK-1];
  reg [8*WB8-1:0] w_mem [0:CHUNK-1];
  reg [8*AB8-1:0] a_mem [0:CHUNK-1];
  reg [7:0] p0_mem [0:CHUNK-1];
  reg [7:0] p1_mem [0:CHUNK-1];
  reg [7:0] p2_mem [0:CHUNK-1];
  reg [7:0] p3_mem [0:CHUNK-1];
  integer c_pos = 0, c_avail = 0, w_pos = 0, w_avail = 0, a_pos = 0, a_avail = 0;
  integer p_bit [0:3];
  integer p_avail [0:3];
  integer p_on [0:3];
  integer p_offset [0:3];
  integer f_manifest, f_c, f_w, f_a, f_results, f_report, rc, k;
  integer f_p [0:3];
  reg [8*32-1:0] magic, digest;
  integer format, cw, ww, aw, rw;

  integer state = 0, reset_cycles = 0, cases = 0, case_index = 0;
  integer c_total, w_total, a_total, budget, idle_limit;
  integer c_sent, w_sent, a_sent, r_got, cyc, idle, start, stop, reason;
  integer c_last, w_last, a_last, r_last;
  reg c_seen = 1'b0, w_seen = 1'b0, a_seen = 1'b0;
  reg c_xfer, w_xfer, a_xfer, short_data;
  reg [8*256-1:0] waves;

  // One pause of stream s (0 cmd, 1 weights, 2 activations, 3 results).
  function automatic draw_pause(input integer s);
    reg [7:0] pause_byte;
    begin
      draw_pause = 1'b0;
      if (p_on[s]) begin
        if (p_bit[s] == 8 * p_avail[s]) begin
          case (s)
            0: rc = $fread(p0_mem, f_p[0], 0, CHUNK);
            1: rc = $fread(p1_mem, f_p[1], 0, CHUNK);
            2: rc = $fread(p2_mem, f_p[2], 0, CHUNK);
            default: rc = $fread(p3_mem, f_p[3], 0, CHUNK);
          endcase
          p_avail[s] = rc; p_bit[s] = 0;
        end
        if (p_avail[s] > 0) begin
          case (s)
            0: pause_byte = p0_mem[p_bit[s] / 8];
            1: pause_byte = p1_mem[p_bit[s] / 8];
            2: pause_byte = p2_mem[p_bit[s] / 8];
            default: pause_byte = p3_mem[p_bit[s] / 8];
          endcase
          draw_pause = pause_byte[p_bit[s] % 8];
          p_bit[s] = p_bit[s] + 1;
        end
      end
    end
  endfunction

  initial begin
    f_manifest = $fopen("player.manifest", "r");
    f_c = $fopen("cmd.bin", "rb");
    f_w = $fopen("weights.bin", "rb");
    f_a = $fopen("activations.bin", "rb");
    f_p[0] = $fopen("pause_cmd.bin", "rb");
    f_p[1] = $fopen("pause_weights.bin", "rb");
    f_p[2] = $fopen("pause_activations.bin", "rb");
    f_p[3] = $fopen("pause_results.bin", "rb");
    f_results = $fopen("results.hex", "w");
    f_report = $fopen("player.report", "w");
    if (f_manifest == 0 || f_c == 0 || f_w == 0 || f_a == 0 || f_p[0] == 0 || f_p[1] == 0
        || f_p[2] == 0 || f_p[3] == 0) begin
      $fwrite(f_report, "error files: a run file is missing\\n");
      $finish;
    end
    rc = $fscanf(f_manifest, "%s %d %s %d %d %d %d %d\\n", magic, format, digest, cw, ww, aw,
                 rw, cases);
    if (rc != 8 || magic != "zeroskip-player" || format != {PLAYER_FORMAT}) begin
      $fwrite(f_report, "error manifest: not a zeroskip player manifest of format {PLAYER_FORMAT}\\n");
      $finish;
    end
    if (digest != DIGEST || cw != CW || ww != WW || aw != AW || rw != RW) begin
      $fwrite(f_report, "error config: the files were written for configuration %0s (payloads %0d %0d %0d %0d bits), this player is built for {digest} (payloads %0d %0d %0d %0d bits)\\n",
              digest, cw, ww, aw, rw, CW, WW, AW, RW);
      $finish;
    end
    if ($value$plusargs("waves=%s", waves)) begin
      $dumpfile(waves);
      $dumpvars(0, dut);
    end
  end

  always @(negedge clk) begin
    case (state)
    0: begin  // reset for three cycles
      reset_cycles = reset_cycles + 1;
      if (reset_cycles == 3) begin rst = 1'b0; state = 1; end
    end
    1: begin  // next case
      if (case_index == cases) begin
        $fclose(f_results); $fclose(f_report);
        $finish;
      end else begin
        rc = $fscanf(f_manifest, "%d %d %d %d %d %d %d %d %d %d %d %d\\n", w_total, a_total,
                     budget, idle_limit, p_on[0], p_on[1], p_on[2], p_on[3], p_offset[0],
                     p_offset[1], p_offset[2], p_offset[3]);
        for (k = 0; k < 4; k = k + 1) begin
          p_bit[k] = 0; p_avail[k] = 0;
          if (p_on[k]) rc = $fseek(f_p[k], p_offset[k], 0);
        end
        c_total = 1;
        c_sent = 0; w_sent = 0; a_sent = 0; r_got = 0; cyc = 0; idle = 0;
        start = -1; stop = -1; reason = 0; short_data = 1'b0;
        c_last = -1; w_last = -1; a_last = -1; r_last = -1;
        state = 2;
      end
    end
    2: begin  // one cycle of a case{sources}
      // results: a pause every cycle, and the word offered this cycle is taken.
      r_ready = !draw_pause(3);
      if (r_ready && r_valid) begin
        $fwrite(f_results, "%h\\n", r_payload);
        r_got = r_got + 1; r_last = cyc; idle = 0;
        if (r_payload[RW-1]) stop = cyc;
      end
      if (c_xfer) start = cyc - 1;
      cyc = cyc + 1;
      idle = idle + 1;
      if (stop >= 0) begin reason = 0; state = 3; end
      else if (short_data) begin reason = 3; state = 3; end
      else if (cyc >= budget) begin reason = 1; state = 3; end
      else if (idle >= idle_limit) begin reason = 2; state = 3; end
    end
    3: begin  // end of a case: the sources account their last transfers
      if (w_valid && w_seen) begin
        w_sent = w_sent + 1; w_pos = w_pos + 1; w_valid = 1'b0; w_last = cyc;
      end
      if (a_valid && a_seen) begin
        a_sent = a_sent + 1; a_pos = a_pos + 1; a_valid = 1'b0; a_last = cyc;
      end
      if (c_valid && c_seen) begin
        c_sent = c_sent + 1; c_pos = c_pos + 1; c_valid = 1'b0; c_last = cyc;
      end
      $fwrite(f_report, "case %0d %0d %0d %0d %0d  %0d %0d %0d %0d %0d  %0d %0d %0d %0d %0d  %0d %0d %0d %0d %0d  %0d %0d %0d %0d\\n",
              case_index, reason, start, stop, cyc,
              c_sent, c_total, c_last, c_valid, c_seen,
              w_sent, w_total, w_last, w_valid, w_seen,
              a_sent, a_total, a_last, a_valid, a_seen,
              r_got, r_last, r_valid, r_ready);
      // Words a case did not take are skipped, so the next case starts at its own.
      while (w_sent < w_total) begin
        if (w_pos == w_avail) begin
          rc = $fread(w_mem, f_w, 0, CHUNK); w_avail = rc / WB8; w_pos = 0;
          if (w_avail == 0) w_sent = w_total;
        end
        if (w_sent < w_total) begin w_pos = w_pos + 1; w_sent = w_sent + 1; end
      end
      while (a_sent < a_total) begin
        if (a_pos == a_avail) begin
          rc = $fread(a_mem, f_a, 0, CHUNK); a_avail = rc / AB8; a_pos = 0;
          if (a_avail == 0) a_sent = a_total;
        end
        if (a_sent < a_total) begin a_pos = a_pos + 1; a_sent = a_sent + 1; end
      end
      if (c_sent < c_total) begin
        if (c_pos == c_avail) begin rc = $fread(c_mem, f_c, 0, CHUNK); c_avail = rc / CB8; c_pos = 0; end
        c_pos = c_pos + 1;
      end
      c_valid = 1'b0; w_valid = 1'b0; a_valid = 1'b0; r_ready = 1'b0;
      c_seen = 1'b0; w_seen = 1'b0; a_seen = 1'b0;
      case_index = case_index + 1;
      // A case that did not finish leaves the engine inside its GEMM: reset it, so that the
      // next case starts from an idle engine.
      if (reason != 0) begin rst = 1'b1; reset_cycles = 0; state = 0; end
      else state = 1;
    end
    endcase
  end
endmodule
"""
