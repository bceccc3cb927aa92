// An output-stationary PE array as docs/hardware.md specifies it
// ("Output-stationary"): R x C PEs on the same grid as pe_array.v, the
// same input skew chains (with a drain tag per row where the
// weight-stationary array has its weight-select tag) and output de-skew
// chains (array_edges.vh, shared), but another cell: no weight registers;
// the operand from the top (d) is multiplied as it passes; psum stays; a
// drain tag moves psum into the out register and restarts the sum; out
// registers form a chain down each column whose bottom feeds the de-skew. Synthesizable Verilog-2005;
// register arrays indexed as isimdl's register map indexes them.
//
// Saboteur port as in pe_array.v. flip_kind: 0 pe_a, 1 pe_psum, 4 pe_d,
// 5 pe_propagate (the drain tag), 6 pe_valid, 7 skew (bits 0-7 a, 8 valid,
// 9 drain), 8 deskew, 9 pe_out.
`timescale 1ns / 1ps
module pe_array_os #(
    parameter R = 4,
    parameter C = 4
) (
    input wire clk,
    input wire [8*R-1:0] feed_a,  // row r: bits [8r+7:8r]
    input wire [R-1:0] feed_valid,
    input wire [R-1:0] feed_drain,
    input wire [8*C-1:0] feed_d,  // column c: bits [8c+7:8c]
    input wire flip_en,
    input wire [3:0] flip_kind,
    input wire [31:0] flip_index,
    input wire [31:0] flip_mask,
    // The de-skewed bottom row: the last de-skew stage of each column,
    // PE(R-1, C-1)'s out register for the last column.
    output wire [32*C-1:0] aligned
);
  localparam N = R * C;
  localparam SK = (R * (R - 1)) / 2 > 0 ? (R * (R - 1)) / 2 : 1;
  localparam DK = (C * (C - 1)) / 2 > 0 ? (C * (C - 1)) / 2 : 1;

  reg signed [7:0] a[0:N-1];
  reg signed [31:0] psum[0:N-1];
  reg signed [7:0] d[0:N-1];
  reg propagate[0:N-1];  // the drain tag
  reg valid[0:N-1];
  reg signed [31:0] out[0:N-1];
  reg signed [7:0] skew_a[0:SK-1];
  reg skew_valid[0:SK-1];
  reg skew_propagate[0:SK-1];
  reg signed [31:0] deskew[0:DK-1];

  // Row r's feed carries its own drain tag.
  wire [R-1:0] feed_tag = feed_drain;
  wire signed [31:0] bottom[0:C-1];
  `include "array_edges.vh"

  genvar r, c;
  generate
    for (r = 0; r < R; r = r + 1) begin : rows
      for (c = 0; c < C; c = c + 1) begin : cols
        localparam integer I = r * C + c;
        wire signed [7:0] a_in = c == 0 ? row_a[r] : a[I-1];
        wire valid_in = c == 0 ? row_valid[r] : valid[I-1];
        wire drain_in = c == 0 ? row_propagate[r] : propagate[I-1];
        wire signed [7:0] d_in = r == 0 ? feed_d[8*c+7:8*c] : d[I-C];
        wire signed [31:0] out_above = r == 0 ? 32'sd0 : out[I-C];
        wire signed [31:0] product = valid_in ? a_in * d_in : 32'sd0;
        wire signed [31:0] psum_next = (drain_in ? 32'sd0 : psum[I]) + product;
        wire signed [31:0] out_next = drain_in ? psum[I] : out_above;
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] m_a = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd0, I);
        wire [31:0] m_psum = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd1, I);
        wire [31:0] m_d = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd4, I);
        wire [31:0] m_propagate = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd5, I);
        wire [31:0] m_valid = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd6, I);
        wire [31:0] m_out = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd9, I);
        /* verilator lint_on UNUSEDSIGNAL */
        always @(posedge clk) begin
          a[I] <= a_in ^ m_a[7:0];
          psum[I] <= psum_next ^ m_psum;
          d[I] <= d_in ^ m_d[7:0];
          propagate[I] <= drain_in ^ m_propagate[0];
          valid[I] <= valid_in ^ m_valid[0];
          out[I] <= out_next ^ m_out;
        end
      end
    end
    for (c = 0; c < C; c = c + 1) begin : outputs
      assign bottom[c] = out[(R-1)*C+c];
    end
  endgenerate

  // Power-on state: all registers zero.
  integer i;
  initial
    for (i = 0; i < N; i = i + 1) begin
      a[i] = 0; psum[i] = 0; d[i] = 0; propagate[i] = 0; valid[i] = 0; out[i] = 0;
    end
endmodule
