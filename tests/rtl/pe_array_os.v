// An output-stationary PE array as docs/hardware.md specifies it
// ("Output-stationary"): R x C PEs on the same grid as pe_array.v, the
// same input skew chains (with a drain tag per row where the
// weight-stationary array has its weight-select tag) and output de-skew
// chains, but another cell: no weight registers; the operand from the top
// (d) is multiplied as it passes; psum stays; a drain tag moves psum into
// the out register and restarts the sum; out registers form a chain down
// each column whose bottom feeds the de-skew. Synthesizable Verilog-2005;
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

  function automatic [31:0] flip(input en, input [3:0] sel_kind, input [31:0] sel_index, input [31:0] mask,
                                 input [3:0] kind, input [31:0] index);
    flip = (en && sel_kind == kind && sel_index == index) ? mask : 32'd0;
  endfunction

  wire signed [7:0] row_a[0:R-1];
  wire row_valid[0:R-1];
  wire row_drain[0:R-1];
  genvar r, c, s;
  generate
    for (r = 0; r < R; r = r + 1) begin : rows
      if (r == 0) begin : feed
        assign row_a[r] = feed_a[7:0];
        assign row_valid[r] = feed_valid[0];
        assign row_drain[r] = feed_drain[0];
      end else begin : chain
        localparam integer FIRST = (r * (r - 1)) / 2;
        assign row_a[r] = skew_a[FIRST+r-1];
        assign row_valid[r] = skew_valid[FIRST+r-1];
        assign row_drain[r] = skew_propagate[FIRST+r-1];
        for (s = 0; s < r; s = s + 1) begin : stages
          /* verilator lint_off UNUSEDSIGNAL */
          wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd7, FIRST + s);  // bits 0-9 used
          /* verilator lint_on UNUSEDSIGNAL */
          always @(posedge clk) begin
            if (s == 0) begin
              skew_a[FIRST+s] <= feed_a[8*r+7:8*r] ^ m[7:0];
              skew_valid[FIRST+s] <= feed_valid[r] ^ m[8];
              skew_propagate[FIRST+s] <= feed_drain[r] ^ m[9];
            end else begin
              skew_a[FIRST+s] <= skew_a[FIRST+s-1] ^ m[7:0];
              skew_valid[FIRST+s] <= skew_valid[FIRST+s-1] ^ m[8];
              skew_propagate[FIRST+s] <= skew_propagate[FIRST+s-1] ^ m[9];
            end
          end
        end
      end
      for (c = 0; c < C; c = c + 1) begin : cols
        localparam integer I = r * C + c;
        wire signed [7:0] a_in = c == 0 ? row_a[r] : a[I-1];
        wire valid_in = c == 0 ? row_valid[r] : valid[I-1];
        wire drain_in = c == 0 ? row_drain[r] : propagate[I-1];
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
    for (c = 0; c < C; c = c + 1) begin : deskews
      localparam integer FIRST = c * (C - 1) - (c * (c - 1)) / 2;
      localparam integer STAGES = C - 1 - c;
      for (s = 0; s < STAGES; s = s + 1) begin : stages
        wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd8, FIRST + s);
        always @(posedge clk)
          if (s == 0) deskew[FIRST+s] <= out[(R-1)*C+c] ^ m;
          else deskew[FIRST+s] <= deskew[FIRST+s-1] ^ m;
      end
      if (STAGES == 0) begin : direct
        assign aligned[32*c+31:32*c] = out[(R-1)*C+c];
      end else begin : staged
        assign aligned[32*c+31:32*c] = deskew[FIRST+STAGES-1];
      end
    end
  endgenerate

  integer i;
  initial begin
    for (i = 0; i < N; i = i + 1) begin
      a[i] = 0; psum[i] = 0; d[i] = 0; propagate[i] = 0; valid[i] = 0; out[i] = 0;
    end
    for (i = 0; i < SK; i = i + 1) begin
      skew_a[i] = 0; skew_valid[i] = 0; skew_propagate[i] = 0;
    end
    for (i = 0; i < DK; i = i + 1) deskew[i] = 0;
  end
endmodule
