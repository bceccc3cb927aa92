// Testbench of pe_array: loads one fold's weights, streams the fold's
// activations with the schedule of docs/hardware.md (scalesim timing, one
// fold: preload in schedule cycles 0..R-1 with the latch in R-1, vector i in
// R+i), applies at most one bit flip through the saboteur port, and writes
// the CSV trace of docs/traces.md (array registers only) after every rising
// edge. The stimulus file, the run and the trace are tb_common.vh's; this
// file holds what is the weight-stationary fold's own: the feed, the checks
// of the stimulus (K <= R and N <= C held, M streamed) and w0/w1.
`timescale 1ns / 1ps
/* verilator lint_off WIDTH */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off BLKSEQ */
module tb_pe_array;
  parameter R = 4;
  parameter C = 4;
  localparam NAME = "tb_pe_array";
  localparam MAXW = 4096, MAXA = 1 << 20;

  reg clk = 0;
  reg [8*R-1:0] feed_a;
  reg [R-1:0] feed_valid;
  reg feed_propagate;
  reg [8*C-1:0] feed_d;
  reg latch, latch_select;
  reg flip_en;
  reg [3:0] flip_kind;
  reg [31:0] flip_index, flip_mask;
  wire [32*C-1:0] aligned;

  pe_array #(.R(R), .C(C)) dut (
      .clk(clk), .feed_a(feed_a), .feed_valid(feed_valid), .feed_propagate(feed_propagate), .feed_d(feed_d),
      .latch(latch), .latch_select(latch_select), .flip_en(flip_en), .flip_kind(flip_kind),
      .flip_index(flip_index), .flip_mask(flip_mask), .aligned(aligned));

  `include "tb_common.vh"

  // The feed of schedule cycle t.
  task set_feed(input integer tf);
    integer r2, c2, k;
    begin
      feed_a = 0;
      feed_valid = 0;
      feed_propagate = 0;
      feed_d = 0;
      latch = 0;
      latch_select = 0;
      if (tf >= 0 && tf < R) begin
        k = R - 1 - tf;
        for (c2 = 0; c2 < C; c2 = c2 + 1)
          if (c2 < N && k < K) feed_d[8*c2+:8] = W[c2*K+k];
        if (tf == R - 1) latch = 1;
      end
      if (tf >= R && tf < R + M)
        for (r2 = 0; r2 < R; r2 = r2 + 1)
          if (r2 < K) begin
            feed_a[8*r2+:8] = A[(tf-R)*K+r2];
            feed_valid[r2] = 1;
          end
    end
  endtask

  // One fold, scalesim timing: compute cycles 2R + C + M - 3, plus 5 of drain.
  task check_stimulus;
    begin
      if (fr != R || fc != C || K > R || N > C) begin
        $fatal(1, "tb_pe_array: stimulus is for a %0dx%0d array (K %0d, N %0d, M %0d); this build is %0dx%0d", fr, fc, K,
                 N, M, R, C);
      end
      if (edges != 2 * R + C + M + 2) begin
        $fatal(1, "tb_pe_array: the stimulus says %0d cycles; one fold of %0d vectors takes %0d", edges, M,
                 2 * R + C + M + 2);
      end
    end
  endtask

  task write_cell_trace(input integer ec, input integer pe);
    begin
      $fdisplay(out, "%0d,array.pe_%0d_%0d.w0,%0d", ec, pe / C, pe % C, dut.w0[pe]);
      $fdisplay(out, "%0d,array.pe_%0d_%0d.w1,%0d", ec, pe / C, pe % C, dut.w1[pe]);
    end
  endtask

endmodule
