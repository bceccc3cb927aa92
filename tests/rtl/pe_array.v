// A weight-stationary PE array as docs/hardware.md specifies it ("The PE and
// the dataflow"): R x C PEs, the input skew chains (row r has r stages,
// stage 0 takes the feed) and the output de-skew chains (column c has
// C-1-c stages, stage 0 takes the bottom PE's psum from before the edge);
// the chains are array_edges.vh, shared with pe_array_os.v.
// Synthesizable Verilog-2005. Register arrays are flat, indexed as the
// register map indexes them (PE r*C+c; skew r(r-1)/2+s; de-skew column by
// column, stage by stage), so that a trace or a fault names them the same way.
//
// Saboteur port: when flip_en is set at a rising edge, register flip_index of
// kind flip_kind takes its new value XOR flip_mask at that edge, i.e. holds
// the flipped value "after edge e" as isimdl's fault sites define it.
// flip_kind: 0 pe_a, 1 pe_psum, 2 pe_w0, 3 pe_w1, 4 pe_d, 5 pe_propagate,
// 6 pe_valid, 7 skew (bits 0-7 a, 8 valid, 9 propagate), 8 deskew.
`timescale 1ns / 1ps
module pe_array #(
    parameter R = 4,
    parameter C = 4
) (
    input wire clk,
    input wire [8*R-1:0] feed_a,  // row r: bits [8r+7:8r]
    input wire [R-1:0] feed_valid,
    input wire feed_propagate,
    input wire [8*C-1:0] feed_d,  // column c: bits [8c+7:8c]
    input wire latch,
    input wire latch_select,
    input wire flip_en,
    input wire [3:0] flip_kind,
    input wire [31:0] flip_index,
    input wire [31:0] flip_mask,
    // The de-skewed bottom row: wires from the registers themselves (the
    // last de-skew stage of each column, PE(R-1, C-1)'s psum for the last
    // column); the accumulator adds what they hold at the next edge, so a
    // fault in them reaches it (docs/hardware.md, "Blocks").
    output wire [32*C-1:0] aligned
);
  localparam N = R * C;
  localparam SK = (R * (R - 1)) / 2 > 0 ? (R * (R - 1)) / 2 : 1;
  localparam DK = (C * (C - 1)) / 2 > 0 ? (C * (C - 1)) / 2 : 1;

  reg signed [7:0] a[0:N-1];
  reg signed [31:0] psum[0:N-1];
  reg signed [7:0] w0[0:N-1];
  reg signed [7:0] w1[0:N-1];
  reg signed [7:0] d[0:N-1];
  reg propagate[0:N-1];
  reg valid[0:N-1];
  reg signed [7:0] skew_a[0:SK-1];
  reg skew_valid[0:SK-1];
  reg skew_propagate[0:SK-1];
  reg signed [31:0] deskew[0:DK-1];

  // Every row's feed carries the same weight-select tag.
  wire [R-1:0] feed_tag = {R{feed_propagate}};
  wire signed [31:0] bottom[0:C-1];
  `include "array_edges.vh"

  genvar r, c;
  generate
    for (r = 0; r < R; r = r + 1) begin : rows
      for (c = 0; c < C; c = c + 1) begin : cols
        localparam integer I = r * C + c;
        // Inputs from the left (or the skew) and from above (or the feed).
        wire signed [7:0] a_in = c == 0 ? row_a[r] : a[I-1];
        wire valid_in = c == 0 ? row_valid[r] : valid[I-1];
        wire propagate_in = c == 0 ? row_propagate[r] : propagate[I-1];
        wire signed [31:0] psum_in = r == 0 ? 32'sd0 : psum[I-C];
        wire signed [7:0] d_in = r == 0 ? feed_d[8*c+7:8*c] : d[I-C];
        wire signed [7:0] w = propagate_in ? w1[I] : w0[I];
        wire signed [31:0] product = a_in * w;
        wire signed [31:0] psum_next = valid_in ? psum_in + product : psum_in;
        wire [7:0] w0_next = (latch && !latch_select) ? d_in : w0[I];
        wire [7:0] w1_next = (latch && latch_select) ? d_in : w1[I];
        // The saboteur's mask is 32 bits for every register: narrower
        // registers use its low bits.
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] m_a = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd0, I);
        wire [31:0] m_psum = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd1, I);
        wire [31:0] m_w0 = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd2, I);
        wire [31:0] m_w1 = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd3, I);
        wire [31:0] m_d = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd4, I);
        wire [31:0] m_propagate = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd5, I);
        wire [31:0] m_valid = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd6, I);
        /* verilator lint_on UNUSEDSIGNAL */
        always @(posedge clk) begin
          a[I] <= a_in ^ m_a[7:0];
          psum[I] <= psum_next ^ m_psum;
          w0[I] <= w0_next ^ m_w0[7:0];
          w1[I] <= w1_next ^ m_w1[7:0];
          d[I] <= d_in ^ m_d[7:0];
          propagate[I] <= propagate_in ^ m_propagate[0];
          valid[I] <= valid_in ^ m_valid[0];
        end
      end
    end
    for (c = 0; c < C; c = c + 1) begin : outputs
      assign bottom[c] = psum[(R-1)*C+c];
    end
  endgenerate

  // Power-on state: all registers zero (the model resets them before a layer).
  integer i;
  initial
    for (i = 0; i < N; i = i + 1) begin
      a[i] = 0; psum[i] = 0; w0[i] = 0; w1[i] = 0; d[i] = 0; propagate[i] = 0; valid[i] = 0;
    end
endmodule
